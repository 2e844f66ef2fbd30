using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace OrleansCodex.Grains.Providers.ClaudeStream;

/// <summary>
/// One persistent <c>claude -p --input-format stream-json</c> process: one session (Claude keeps strictly one per process), many
/// turns, one at a time. A reader loop turns stdout into JSON events on a channel, so that a turn can wait for the next event
/// with a deadline, an idle bound or an interrupt grace without ever cancelling a read of the pipe. It runs in its own process
/// group: killing it also ends the tool commands it started.
/// </summary>
internal sealed class ClaudeStreamProcess : IAsyncDisposable
{
    /// <summary>How long Claude gets to exit after its stdin was closed (it takes ~40 ms) before it is killed.</summary>
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(2);

    private readonly ChildProcess _process;
    private readonly ILogger _logger;
    private readonly Channel<JsonDocument> _events = Channel.CreateUnbounded<JsonDocument>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Task _readLoop;
    private int _nextRequest;
    private int _ended;
    private volatile bool _outputEnded;

    public ClaudeStreamProcess(ChildProcess process, string key, string? sessionId, string? model, ClaudeProcessSettings settings, ILogger logger)
    {
        _process = process;
        _logger = logger;
        Key = key;
        SessionId = sessionId;
        Model = model;
        Settings = settings;
        _readLoop = ReadLoopAsync();
    }

    public int Id => _process.Id;

    /// <summary>Where the pool keeps it: the session id, or a unique name for a one-shot process.</summary>
    public string Key { get; }

    /// <summary>The session this process holds; null for a one-shot process of an ephemeral turn.</summary>
    public string? SessionId { get; }

    /// <summary>The model its next turn uses (changed in place with <c>set_model</c>); null for Claude's default (a spare).</summary>
    public string? Model { get; set; }

    /// <summary>
    /// What it was started with; a turn that needs other settings needs another process. A spare's are completed once, when a
    /// turn adopts it (<c>initialize</c> with the turn's instructions and schema).
    /// </summary>
    public ClaudeProcessSettings Settings { get; set; }

    /// <summary>Whether a turn holds it. Guarded by the pool's lock.</summary>
    public bool Busy { get; set; }

    /// <summary>When its last turn ended, or a spare's start (a <see cref="TimeProvider"/> timestamp). Guarded by its owner's lock.</summary>
    public long LastUsed { get; set; }

    /// <summary>False once it exited or closed its output: it can run no more turns.</summary>
    public bool IsAlive => !_outputEnded && !_process.HasExited;

    public string StderrTail => _process.StderrTail;

    /// <summary>Writes one stream-json line. Throws <see cref="IOException"/> when the process is gone.</summary>
    public Task SendAsync(string jsonLine, CancellationToken cancellationToken) =>
        _process.WriteLineAsync(Encoding.UTF8.GetBytes(jsonLine), cancellationToken);

    /// <summary>Sends a <c>control_request</c> and returns its request id; the <c>control_response</c> arrives among the events.</summary>
    public async Task<string> SendControlAsync(JsonObject request, CancellationToken cancellationToken)
    {
        var requestId = $"req_{Interlocked.Increment(ref _nextRequest)}";
        var line = new JsonObject { ["type"] = "control_request", ["request_id"] = requestId, ["request"] = request };
        await SendAsync(line.ToJsonString(), cancellationToken);
        return requestId;
    }

    /// <summary>The next event, or null once the output ended (the process exited or crashed).</summary>
    public async Task<JsonDocument?> NextEventAsync(CancellationToken cancellationToken)
    {
        while (await _events.Reader.WaitToReadAsync(cancellationToken))
        {
            if (_events.Reader.TryRead(out var line))
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>Drops events no turn is waiting for (left by an earlier turn), so that a new turn starts with its own.</summary>
    public void DiscardPendingEvents()
    {
        while (_events.Reader.TryRead(out var stale))
        {
            stale.Dispose();
        }
    }

    /// <summary>The exit code, or null if the process has not exited within <paramref name="timeout"/>.</summary>
    public Task<int?> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>Kills the process and its group now (a turn that would not stop); <see cref="EndAsync"/> still has to be called.</summary>
    public Task KillAsync(string reason) => _process.KillAsync(reason);

    /// <summary>
    /// Ends the process: stdin is closed, so Claude finishes writing its transcript and exits by itself; if it has not within
    /// <see cref="ExitWait"/> it is killed. Then what is left of its process group is killed and the process reaped. Idempotent.
    /// </summary>
    public async Task EndAsync(string reason)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            return;
        }

        ClaudeStreamLog.Ending(_logger, Id, SessionId, reason);
        _process.CloseStdin();
        if (await _process.WaitForExitAsync(ExitWait) is null)
        {
            await _process.KillAsync($"still running {ExitWait.TotalSeconds:0} s after its stdin was closed ({reason})");
        }
        else
        {
            _process.KillLeftovers();
        }

        await _process.DisposeAsync();
        await _readLoop;
    }

    public ValueTask DisposeAsync() => new(EndAsync("disposed"));

    /// <summary>For a synchronous container dispose: kills without waiting.</summary>
    public void Kill()
    {
        Interlocked.Exchange(ref _ended, 1);
        _process.Dispose();
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

                try
                {
                    _events.Writer.TryWrite(JsonDocument.Parse(line));
                }
                catch (JsonException)
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            _outputEnded = true;
            _events.Writer.TryComplete();
        }
    }
}
