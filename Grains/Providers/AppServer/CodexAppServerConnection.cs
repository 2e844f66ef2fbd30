using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers.AppServer;

/// <summary>The app-server could not be started or did not complete its <c>initialize</c> handshake.</summary>
public sealed class AppServerUnavailableException(string message) : Exception(message);

/// <summary>The app-server process ended (crashed, was killed, or closed its output) while a request or turn needed it.</summary>
/// <param name="requestSent">False when the request that failed never reached the process, so nothing of it ran.</param>
public sealed class AppServerExitedException(string message, bool requestSent = true) : Exception(message)
{
    public bool RequestSent { get; } = requestSent;
}

/// <summary>
/// One <c>codex app-server</c> process and a JSON-RPC 2.0 client over its stdio: requests are correlated with their responses by
/// id, notifications are routed by their <c>threadId</c> to the one turn subscribed to that thread (a channel per turn), and requests
/// of the server are answered (approvals declined: turns run with <c>approvalPolicy: never</c>). Every stdout line is read by one
/// reader loop; writes to stdin are serialized. When the process ends, pending requests fail with
/// <see cref="AppServerExitedException"/> and every subscription receives <see cref="AppServerNotification.Exited"/>.
/// <para>A Codex thread has one writer: the process that loaded it (<see cref="FindThread"/>). The connection remembers which
/// threads it loaded and counts the turns running on it, so that <see cref="CodexAppServer"/> can replace it only when idle.</para>
/// </summary>
internal sealed class CodexAppServerConnection : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(2);

    private readonly AppServerProcess _process;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<RpcMessage>> _pending = new();
    private readonly ConcurrentDictionary<string, ThreadSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LoadedThread> _threads = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<string> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _turnLock = new();
    private readonly Task _readLoop;
    private readonly Task _exitWatch;
    private long _nextId;
    private int _activeTurns;
    private bool _retired;
    private int _disposed;
    private string? _stopReason;

    private CodexAppServerConnection(AppServerProcess process, ILogger logger)
    {
        _process = process;
        _logger = logger;
        _readLoop = Task.Run(ReadLoopAsync);
        _exitWatch = Task.Run(WatchExitAsync);
    }

    public int ProcessId => _process.Id;

    /// <summary>False once the process has ended or stopped writing (checked with the process itself, not only by its output).</summary>
    public bool IsAlive => !_exited.Task.IsCompleted && !_process.HasExited;

    /// <summary>Completes with the reason when the process has ended.</summary>
    public Task<string> Exited => _exited.Task;

    /// <summary>Threads this process has loaded (each keeps ~1.3 MB of the process's memory until it exits).</summary>
    public int LoadedThreadCount => _threads.Count;

    /// <summary>Starts the process and completes the <c>initialize</c> / <c>initialized</c> handshake.</summary>
    /// <exception cref="AppServerUnavailableException">It could not be started or did not answer within <paramref name="initializeTimeout"/>.</exception>
    public static async Task<CodexAppServerConnection> StartAsync(CliCommand command, TimeSpan initializeTimeout, ILogger logger, TimeProvider time, CancellationToken cancellationToken)
    {
        var (process, error) = AppServerProcess.TryStart(command, logger, time);
        if (process is null)
        {
            throw new AppServerUnavailableException($"The Codex CLI {error}. {CliExecutableLocator.InstallHint(CliProvider.Codex)}");
        }

        var connection = new CodexAppServerConnection(process, logger);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(initializeTimeout);
            var version = typeof(CodexAppServerConnection).Assembly.GetName().Version?.ToString(3) ?? "1.0.0";
            var reply = await connection.RequestAsync(
                AppServerMethods.Initialize,
                new InitializeParams(new ClientInfo("orleanscodex", "OrleansCodex", version), new InitializeCapabilities(ExperimentalApi: false)),
                AppServerJsonContext.Default.InitializeParams,
                timeout.Token);
            if (reply.Error is { } refused)
            {
                throw new AppServerUnavailableException($"codex app-server refused to initialize: {refused.Message}");
            }

            await connection.WriteMessageAsync(writer => writer.WriteString("method", AppServerMethods.Initialized), timeout.Token);
            AppServerLog.Started(logger, process.Id, command.FileName);
            return connection;
        }
        catch (Exception e)
        {
            await connection.KillAsync("did not start");
            connection.Dispose();
            throw e switch
            {
                AppServerExitedException exited => new AppServerUnavailableException($"codex app-server exited during start-up: {exited.Message}"),
                OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                    new AppServerUnavailableException($"codex app-server did not answer initialize within {initializeTimeout.TotalSeconds:0.#} s. {process.StderrSummary}"),
                _ => e,
            };
        }
    }

    /// <summary>Sends a request and waits for its response, which carries a result or an error.</summary>
    /// <exception cref="AppServerExitedException">The process ended before it answered.</exception>
    public async Task<RpcMessage> RequestAsync<TParams>(string method, TParams parameters, JsonTypeInfo<TParams> typeInfo, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<RpcMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        try
        {
            // Registered before the check: the exit path fails whatever is pending after it marked the process gone.
            if (!IsAlive)
            {
                throw new AppServerExitedException(await Exited, requestSent: false);
            }

            await WriteMessageAsync(
                writer =>
                {
                    writer.WriteNumber("id", id);
                    writer.WriteString("method", method);
                    writer.WritePropertyName("params");
                    JsonSerializer.Serialize(writer, parameters, typeInfo);
                },
                cancellationToken);
            return await reply.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Routes the notifications of <paramref name="threadId"/> to the returned subscription; null if a turn already holds it.</summary>
    public ThreadSubscription? TrySubscribe(string threadId)
    {
        var subscription = new ThreadSubscription(this, threadId);
        if (!_subscriptions.TryAdd(threadId, subscription))
        {
            return null;
        }

        if (!IsAlive)
        {
            subscription.Post(AppServerNotification.Exited);
        }

        return subscription;
    }

    /// <summary>A thread this process has loaded (started or resumed), or null.</summary>
    public LoadedThread? FindThread(string threadId) => _threads.GetValueOrDefault(threadId);

    /// <summary>Remembers a thread this process loaded: from now on it is the thread's writer.</summary>
    public LoadedThread AddThread(ThreadInfo thread) =>
        _threads.GetOrAdd(thread.Id, static (id, info) => new LoadedThread(id, info.Path, info.Ephemeral), thread);

    /// <summary>Counts a turn on this connection; false once it is retired or gone.</summary>
    public bool TryBeginTurn()
    {
        lock (_turnLock)
        {
            if (_retired || !IsAlive)
            {
                return false;
            }

            _activeTurns++;
            return true;
        }
    }

    public void EndTurn()
    {
        lock (_turnLock)
        {
            _activeTurns--;
        }
    }

    /// <summary>Takes the connection out of service if no turn runs on it; then no turn can begin on it any more.</summary>
    public bool TryRetireIfIdle()
    {
        lock (_turnLock)
        {
            if (_activeTurns > 0)
            {
                return false;
            }

            _retired = true;
            return true;
        }
    }

    /// <summary>Kills the process group at once (a turn that does not stop, a restart).</summary>
    public async Task KillAsync(string reason)
    {
        Interlocked.CompareExchange(ref _stopReason, reason, null);
        await _process.KillAsync(reason);
        await Task.WhenAll(_readLoop, _exitWatch).WaitAsync(ExitWait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Closes stdin, which ends the app-server within ~0.1 s, then kills whatever is left of its process group.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Interlocked.CompareExchange(ref _stopReason, "it was shut down", null);
        if (IsAlive)
        {
            try
            {
                _process.CloseStdin();
                await _process.WaitForExitAsync(ExitWait);
            }
            catch (IOException)
            {
            }
        }

        await KillAsync("disposed while running");
        await _process.DisposeAsync();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Interlocked.CompareExchange(ref _stopReason, "it was shut down", null);
            _process.Dispose();
        }
    }

    internal void Unsubscribe(ThreadSubscription subscription) =>
        _subscriptions.TryRemove(KeyValuePair.Create(subscription.ThreadId, subscription));

    private async Task WriteMessageAsync(Action<Utf8JsonWriter> writeProperties, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        try
        {
            await _process.WriteLineAsync(buffer.WrittenMemory, cancellationToken);
        }
        catch (IOException)
        {
            string reason;
            try
            {
                reason = await Exited.WaitAsync(ExitWait);
            }
            catch (TimeoutException)
            {
                reason = $"The Codex app-server (pid {ProcessId}) stopped reading its input.";
            }

            throw new AppServerExitedException(reason, requestSent: false);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _process.ReadLineAsync(CancellationToken.None) is { } line)
            {
                if (!line.StartsWith('{'))
                {
                    continue;
                }

                RpcMessage? message;
                try
                {
                    message = JsonSerializer.Deserialize(line, AppServerJsonContext.Default.RpcMessage);
                }
                catch (JsonException e)
                {
                    AppServerLog.UnreadableLine(_logger, _process.Id, e.Message);
                    continue;
                }

                if (message is not null)
                {
                    Dispatch(message);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }

        var exitCode = await _process.WaitForExitAsync(ExitWait);
        MarkExited(exitCode);
    }

    /// <summary>A child that inherited stdout could keep it open after the app-server died: the exit itself also counts.</summary>
    private async Task WatchExitAsync()
    {
        await _process.WaitForExitAsync();
        if (await Task.WhenAny(_readLoop, Task.Delay(ExitWait)) != _readLoop)
        {
            MarkExited(_process.ExitCode);
        }
    }

    private void MarkExited(int? exitCode)
    {
        var stopReason = Volatile.Read(ref _stopReason);
        var said = _process.StderrSummary;
        var reason = stopReason is not null
            ? $"The Codex app-server (pid {_process.Id}) was stopped: {stopReason}."
            : $"The Codex app-server (pid {_process.Id}) " + (exitCode is { } code ? $"exited with code {code}" : "closed its output")
                + (said.Length > 0 ? $": {said}" : ".");
        if (!_exited.TrySetResult(reason))
        {
            return;
        }

        if (stopReason is null)
        {
            AppServerLog.Exited(_logger, _process.Id, reason);
            _process.KillLeftovers();
        }

        var error = new AppServerExitedException(reason);
        foreach (var (_, pending) in _pending)
        {
            pending.TrySetException(error);
        }

        foreach (var (_, subscription) in _subscriptions)
        {
            subscription.Post(AppServerNotification.Exited);
        }
    }

    private void Dispatch(RpcMessage message)
    {
        if (message.Method is { } method)
        {
            if (message.Id is { } requestId)
            {
                _ = AnswerServerRequestAsync(requestId, method);
            }
            else if (message.Params is { ValueKind: JsonValueKind.Object } parameters
                && parameters.TryGetProperty("threadId", out var threadId)
                && threadId.ValueKind == JsonValueKind.String
                && _subscriptions.TryGetValue(threadId.GetString()!, out var subscription))
            {
                subscription.Post(new AppServerNotification(method, parameters));
            }

            return;
        }

        if (message.Id is { ValueKind: JsonValueKind.Number } id && id.TryGetInt64(out var number) && _pending.TryRemove(number, out var reply))
        {
            reply.TrySetResult(message);
        }
    }

    /// <summary>Nothing here can answer a question: approvals are declined (Codex then tells the model), anything else is refused.</summary>
    private async Task AnswerServerRequestAsync(JsonElement requestId, string method)
    {
        AppServerLog.ServerRequestRefused(_logger, _process.Id, method);
        try
        {
            await WriteMessageAsync(
                writer =>
                {
                    writer.WritePropertyName("id");
                    requestId.WriteTo(writer);
                    if (method.EndsWith("requestApproval", StringComparison.Ordinal))
                    {
                        writer.WritePropertyName("result");
                        JsonSerializer.Serialize(writer, new ApprovalDecision("decline"), AppServerJsonContext.Default.ApprovalDecision);
                    }
                    else
                    {
                        writer.WritePropertyName("error");
                        JsonSerializer.Serialize(writer, new RpcError { Code = -32601, Message = $"OrleansCodex does not handle {method}." }, AppServerJsonContext.Default.RpcError);
                    }
                },
                CancellationToken.None);
        }
        catch (AppServerExitedException)
        {
        }
    }
}

/// <summary>A thread loaded in one app-server process.</summary>
internal sealed class LoadedThread(string id, string? rolloutPath, bool ephemeral)
{
    public string Id { get; } = id;

    /// <summary>The rollout file the thread is persisted in; null for an ephemeral thread.</summary>
    public string? RolloutPath { get; } = rolloutPath;

    public bool Ephemeral { get; } = ephemeral;

    /// <summary>The thread's running token total after its last turn in this process.</summary>
    public TokenUsage? Total { get; set; }
}

/// <summary>The notifications of one thread, for the one turn running on it. Disposing stops the routing.</summary>
internal sealed class ThreadSubscription(CodexAppServerConnection owner, string threadId) : IDisposable
{
    private readonly Channel<AppServerNotification> _channel =
        Channel.CreateUnbounded<AppServerNotification>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    public string ThreadId { get; } = threadId;

    public ChannelReader<AppServerNotification> Reader => _channel.Reader;

    public void Dispose() => owner.Unsubscribe(this);

    internal void Post(AppServerNotification notification) => _channel.Writer.TryWrite(notification);
}
