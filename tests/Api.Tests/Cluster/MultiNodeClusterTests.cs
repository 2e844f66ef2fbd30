using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using OrleansCodex.Testing.Service;
using OrleansCodex.Testing.StubModel;
using Xunit.Abstractions;

namespace OrleansCodex.Api.Tests.Cluster;

/// <summary>
/// The cluster as operators run it: three Api processes co-hosting silos over one PostgreSQL database, the real Codex CLI against
/// the stub model. Single activation under concurrent load from every node, failover after kill -9, restart as a new incarnation,
/// a paused owner (in-flight failure, self-stop, rejected late write), a pure client in front of Silo processes, and the cost of
/// the extra hop. Each test starts from three converged nodes and leaves no process behind.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MultiNodeClusterTests(ClusterFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Model = StubModelServer.CodexModel;

    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token;

    private static IReadOnlyList<string> NodeIds => ClusterFixture.NodeIds;

    private readonly Dictionary<ServiceProcess, int> _outputStart = [];

    public async Task InitializeAsync()
    {
        await fixture.EnsureClusterAsync();
        foreach (var node in fixture.Nodes)
        {
            _outputStart[node] = node.Output.Length;
        }
    }

    /// <summary>Writes the warnings and errors the nodes logged during the test to its output, for diagnosis.</summary>
    public Task DisposeAsync()
    {
        foreach (var id in NodeIds)
        {
            var node = fixture.Node(id);
            var text = node.Output;
            var lines = text[Math.Min(_outputStart.GetValueOrDefault(node), text.Length)..].Split('\n')
                .Where(l => l.Contains(" WRN] ", StringComparison.Ordinal) || l.Contains(" ERR] ", StringComparison.Ordinal) || l.Contains(" FTL] ", StringComparison.Ordinal))
                .ToList();
            if (lines.Count > 0)
            {
                output.WriteLine($"{id} warnings and errors:\n  {string.Join("\n  ", lines.Take(30))}");
            }
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task Conversation_100ConcurrentTurnsSentToAllNodes_OneActivationInTheClusterAndTurnsRunOneAtATime()
    {
        const int Turns = 100;
        var tag = Tag();
        var clients = NodeIds.Select(id => ClusterHttp.Client(fixture.Node(id), TimeSpan.FromMinutes(4))).ToArray();
        var root = await ClusterHttp.TurnAsync(clients[0], NodeIds[0], Model, $"{tag}-root", null, _timeout);
        Assert.True(root.Succeeded, root.ToString());
        var conversation = ClusterHttp.ConversationOf(root.Id!);
        // Only this conversation's traffic from here on: nothing else may be talking to the stub.
        Assert.Equal(0, await WaitForAsync(() => fixture.Stub.ActiveRequests, n => n == 0, TimeSpan.FromSeconds(10)));
        fixture.Stub.ResetPeakActiveRequests();

        // Forks of turn 1, round-robin over the three nodes, all at once: two thirds reach the conversation from another node.
        var stopwatch = Stopwatch.StartNew();
        var forks = await Task.WhenAll(Enumerable.Range(0, Turns).Select(i =>
            ClusterHttp.TurnAsync(clients[i % 3], NodeIds[i % 3], Model, Fork(tag, i), root.Id, _timeout)));
        stopwatch.Stop();
        var peak = fixture.Stub.PeakActiveRequests;
        var stored = await Task.WhenAll(forks.Select((fork, i) =>
            fork.Id is { } id ? ClusterHttp.GetAsync(clients[(i + 1) % 3], NodeIds[(i + 1) % 3], id, _timeout) : Task.FromResult(fork)));
        var directory = await ClusterFixture.DirectoryEntriesAsync(fixture.ConnectionString, conversation);
        var activations = NodeIds.ToDictionary(id => id, id => CountActivations(fixture.Node(id).Output, conversation));
        var stubRequests = fixture.Stub.Requests;

        output.WriteLine(
            $"{Turns} concurrent forks through 3 nodes: {stopwatch.Elapsed.TotalSeconds:F1} s ({stopwatch.Elapsed.TotalMilliseconds / Turns:F0} ms per turn); " +
            $"peak concurrent model requests {peak}; activations per node {string.Join(", ", activations.Select(a => $"{a.Key}={a.Value}"))}; " +
            $"directory {string.Join(", ", directory)}");
        // The first fork to run continues the CLI session's last answer (turn 1) and resumes it; every later one is a fork from an
        // earlier response and gets a fresh session seeded with turn 1 only, never another fork's text.
        var sessions = new List<SessionKind>();
        Assert.All(forks.Select((fork, i) => (fork, i)), x =>
        {
            Assert.True(x.fork.Succeeded, x.fork.ToString());
            sessions.Add(AssertAnsweredWithHistory(x.fork.OutputText, Fork(tag, x.i), $"{tag}-root"));
        });
        Assert.Equal(1, sessions.Count(k => k == SessionKind.Resumed));
        Assert.All(stored.Select((s, i) => (s, i)), x =>
        {
            Assert.True(x.s.Succeeded, $"GET of fork {x.i}: {x.s}");
            Assert.Equal(forks[x.i].OutputText, x.s.OutputText);
        });
        Assert.Equal(1, activations.Values.Sum());
        var entry = Assert.Single(directory);
        Assert.Equal(1, activations[entry.NodeId]);
        // Each turn ran its CLI exactly once (nothing was resubmitted), and never two at a time.
        Assert.All(Enumerable.Range(0, Turns), i =>
            Assert.Single(stubRequests, r => r.Conversation.UserTexts.Count > 0
                && (r.Conversation.UserTexts[^1] == Fork(tag, i) || r.Conversation.UserTexts[^1].EndsWith("\n" + Fork(tag, i), StringComparison.Ordinal))));
        Assert.Equal(1, peak);
        AssertNoStrayProcesses();
    }

    [Fact]
    public async Task OwnerKilled_NextTurnThroughAnotherNode_IsAnsweredWithin5SecondsWithTheWholeHistory()
    {
        var tag = Tag();
        var one = await TurnAsync("node-2", $"{tag}-one", null);
        var two = await TurnAsync("node-3", $"{tag}-two", one.Id);
        var baseline = Stopwatch.StartNew();
        var three = await TurnAsync("node-1", $"{tag}-three", two.Id);
        baseline.Stop();
        var conversation = ClusterHttp.ConversationOf(one.Id!);
        const string owner = "node-2";
        const string survivor = "node-3";
        Assert.Equal(owner, (await fixture.DirectoryEntryAsync(conversation))?.NodeId);
        using var survivorClient = ClusterHttp.Client(fixture.Node(survivor));

        var stopwatch = Stopwatch.StartNew();
        await fixture.Node(owner).KillTreeAsync();
        var four = await ClusterHttp.TurnAsync(survivorClient, survivor, Model, $"{tag}-four", three.Id, _timeout);
        var failover = stopwatch.Elapsed;
        var newOwner = await fixture.DirectoryEntryAsync(conversation);

        output.WriteLine(
            $"kill -9 of {owner} -> turn 4 through {survivor} answered in {failover.TotalMilliseconds:F0} ms " +
            $"(turn 3, resumed on {owner} through node-1: {baseline.Elapsed.TotalMilliseconds:F0} ms); conversation now on {newOwner}");
        Assert.True(four.Succeeded, four.ToString());
        // The CLI session died with its node: a fresh session seeded with the three stored turns.
        Assert.Equal(SessionKind.Seeded, AssertAnsweredWithHistory(four.OutputText, $"{tag}-four", $"{tag}-one", $"{tag}-two", $"{tag}-three"));
        Assert.True(failover < TimeSpan.FromSeconds(5), $"failover took {failover}");
        Assert.NotNull(newOwner);
        Assert.NotEqual(owner, newOwner.NodeId);
        AssertNoStrayProcesses();

        await fixture.RestartNodeAsync(owner);
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task NodeRestartedWithTheSameId_IsANewIncarnation_OldOneDead_AndTurnsWorkThroughIt()
    {
        const string Id = "node-3";
        var tag = Tag();
        var one = await TurnAsync(Id, $"{tag}-one", null);
        var two = await TurnAsync("node-1", $"{tag}-two", one.Id);
        var conversation = ClusterHttp.ConversationOf(one.Id!);
        var before = await fixture.DirectoryEntryAsync(conversation);
        Assert.Equal(Id, before?.NodeId);
        var oldIncarnation = before!.Incarnation;
        Assert.Equal("Active", (await fixture.MemberRowsAsync(Id)).Single(r => r.Incarnation == oldIncarnation).Status);
        var port = fixture.Node(Id).Port;

        await fixture.Node(Id).KillTreeAsync();
        var stopwatch = Stopwatch.StartNew();
        var restarted = await fixture.RestartNodeAsync(Id);
        var restartTime = stopwatch.Elapsed;
        var view = await ClusterFixture.ClusterViewAsync(restarted);
        var rows = await fixture.MemberRowsAsync(Id);

        output.WriteLine($"{Id} restarted in {restartTime.TotalMilliseconds:F0} ms; membership rows: {string.Join(", ", rows)}");
        Assert.Equal(port, restarted.Port);
        Assert.NotNull(view?.Incarnation);
        var newIncarnation = view.Incarnation.Value;
        Assert.True(newIncarnation > oldIncarnation, $"new incarnation {newIncarnation} is not above {oldIncarnation}");
        Assert.Equal("Dead", rows.Single(r => r.Incarnation == oldIncarnation).Status);
        var active = Assert.Single(rows, r => r.Status != "Dead");
        Assert.Equal(newIncarnation, active.Incarnation);
        Assert.Equal("Active", active.Status);

        await fixture.WaitForClusterAsync();
        var three = await TurnAsync(Id, $"{tag}-three", two.Id);
        var after = await fixture.DirectoryEntryAsync(conversation);
        // Same node id, so the new incarnation resumes the CLI session the old one left (documented for Cluster:NodeId).
        Assert.Equal(SessionKind.Resumed, AssertAnsweredWithHistory(three.OutputText, $"{tag}-three", $"{tag}-one", $"{tag}-two"));
        Assert.Equal((Id, newIncarnation), (after?.NodeId, after?.Incarnation));

        // A new conversation lands on the restarted node and is reachable from the others.
        var fresh = await TurnAsync(Id, $"{tag}-fresh", null);
        var freshNext = await TurnAsync("node-2", $"{tag}-fresh-next", fresh.Id);
        var freshEntry = await fixture.DirectoryEntryAsync(ClusterHttp.ConversationOf(fresh.Id!));
        Assert.Equal((Id, newIncarnation), (freshEntry?.NodeId, freshEntry?.Incarnation));
        AssertAnsweredWithHistory(freshNext.OutputText, $"{tag}-fresh-next", $"{tag}-fresh");
        AssertNoStrayProcesses();
    }

    [Fact]
    public async Task OwnerPausedDuringACrossNodeStream_StreamFails_NextTurnSucceeds_OwnerStopsItself_LateWriteRejected()
    {
        const string A = "node-1";
        const string B = "node-2";
        var tag = Tag();
        var one = await TurnAsync(A, $"{tag}-one", null);
        var conversation = ClusterHttp.ConversationOf(one.Id!);
        Assert.Equal(A, (await fixture.DirectoryEntryAsync(conversation))?.NodeId);
        var owner = fixture.Node(A);
        var oldIncarnation = (await fixture.DirectoryEntryAsync(conversation))!.Incarnation;
        using var clientB = ClusterHttp.Client(fixture.Node(B));

        // A slow streamed turn (the stub sends a word every 300 ms for 30 s), sent to B, run by the conversation on A.
        var (response, events) = await ClusterHttp.StreamTurnAsync(clientB, StubModelServer.MagicModels.Slow, $"{tag}-slow", one.Id, _timeout);
        using var _ = response;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var created = await NextEventAsync(events, e => e.Type == "response.created", TimeSpan.FromSeconds(15));
        Assert.NotNull(created);
        var slowId = created.Data.GetProperty("response").GetProperty("id").GetString()!;
        var cliPids = await WaitForAsync(() => owner.CliProcesses(), pids => pids.Count > 0, TimeSpan.FromSeconds(10));
        Assert.NotEmpty(cliPids);
        Assert.True(await WaitForAsync(() => fixture.Stub.ActiveStreams, n => n > 0, TimeSpan.FromSeconds(10)) > 0, "the slow model stream never started");

        TimeSpan failedAfter;
        TurnAnswer next;
        var paused = Stopwatch.StartNew();
        owner.Signal(19); // SIGSTOP: A's process stops answering; its CLI keeps running.
        try
        {
            var terminal = await NextEventAsync(events, e => e.Type is "response.failed" or "error" or "response.completed", TimeSpan.FromSeconds(10));
            failedAfter = paused.Elapsed;
            output.WriteLine(FormattableString.Invariant(
                $"SIGSTOP of {A}: the stream through {B} ended with {terminal?.Type ?? "nothing"} after {failedAfter.TotalMilliseconds:F0} ms: {terminal?.Data}"));
            Assert.NotNull(terminal);
            Assert.Contains(terminal.Type, new[] { "response.failed", "error" });

            next = await ClusterHttp.TurnAsync(clientB, B, Model, $"{tag}-after", one.Id, _timeout);
            output.WriteLine($"next turn through {B}: {next.StatusCode} after {paused.Elapsed.TotalMilliseconds:F0} ms since SIGSTOP");
        }
        finally
        {
            owner.Signal(18); // SIGCONT
        }

        var resumed = Stopwatch.StartNew();
        var exited = await owner.WaitForExitAsync(TimeSpan.FromSeconds(15));
        var exitTime = resumed.Elapsed;
        output.WriteLine(FormattableString.Invariant(
            $"after SIGCONT {A} {(exited ? $"exited by itself (code {owner.ExitCode})" : "was still running")} after {exitTime.TotalMilliseconds:F0} ms"));
        var leftoverClis = await WaitForAsync(() => cliPids.Where(ProcessTree.IsRunning).ToList(), l => l.Count == 0, TimeSpan.FromSeconds(10));
        var slow = await ClusterHttp.GetAsync(clientB, B, slowId, _timeout);
        var rows = await fixture.MemberRowsAsync(A);
        output.WriteLine($"slow turn stored as: {slow.Status}; {A} rows: {string.Join(", ", rows)}; A's output tail:\n{Tail(owner.Output, 25)}");

        Assert.True(next.Succeeded, next.ToString());
        AssertAnsweredWithHistory(next.OutputText, $"{tag}-after", $"{tag}-one");
        Assert.Equal(B, (await fixture.DirectoryEntryAsync(conversation))?.NodeId);
        Assert.True(exited, $"{A} did not stop by itself within 15 s of SIGCONT:\n{Tail(owner.Output, 40)}");
        Assert.Empty(leftoverClis);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.Equal("failed", slow.Status);
        Assert.Equal("Dead", rows.Single(r => r.Incarnation == oldIncarnation).Status);
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(10)), "the slow model stream is still open");

        // Still failed a moment later: nothing wrote the late completion.
        await Task.Delay(1000, _timeout);
        Assert.Equal("failed", (await ClusterHttp.GetAsync(clientB, B, slowId, _timeout)).Status);
        AssertNoStrayProcesses();

        await fixture.RestartNodeAsync(A);
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task PureClientInFrontOfTwoSilos_TurnsAndContinuationsWork()
    {
        var tag = Tag();
        var connectionString = await fixture.Postgres.CreateDatabaseAsync();
        var clusterId = $"client-tests-{Guid.NewGuid().ToString("N")[..8]}";
        var started = new List<ServiceProcess>();
        try
        {
            var silos = await Task.WhenAll(new[] { "silo-a", "silo-b" }.Select(id =>
                fixture.StartOtherAsync(id, ClusterFixture.ClusterArguments(id, clusterId, connectionString), ServiceExecutable.Silo)));
            started.AddRange(silos);
            var client = await fixture.StartOtherAsync("client",
                [.. ClusterFixture.ClusterArguments("client", clusterId, connectionString), "--Api:CoHostSilo", "false"], ServiceExecutable.Api);
            started.Add(client);
            using var http = ClusterHttp.Client(client);

            var one = await ClusterHttp.TurnAsync(http, "client", Model, $"{tag}-one", null, _timeout);
            Assert.True(one.Succeeded, $"{one}\nclient:\n{Tail(client.Output, 30)}\nsilo-a:\n{Tail(silos[0].Output, 30)}");
            var two = await ClusterHttp.TurnAsync(http, "client", Model, $"{tag}-two", one.Id, _timeout);
            var fetched = await ClusterHttp.GetAsync(http, "client", one.Id!, _timeout);
            var conversation = ClusterHttp.ConversationOf(one.Id!);
            var entry = await ClusterFixture.DirectoryEntryAsync(connectionString, conversation);
            var activations = silos.Sum(s => CountActivations(s.Output, conversation));

            output.WriteLine($"pure client: conversation on {entry}; activations {activations}");
            Assert.True(two.Succeeded, two.ToString());
            Assert.Equal(SessionKind.Resumed, AssertAnsweredWithHistory(two.OutputText, $"{tag}-two", $"{tag}-one"));
            Assert.Equal(one.OutputText, fetched.OutputText);
            Assert.Contains(entry?.NodeId, new[] { "silo-a", "silo-b" });
            Assert.Equal(1, activations);
            Assert.Empty(client.Descendants());
        }
        finally
        {
            foreach (var process in started)
            {
                await process.DisposeAsync();
            }
        }

        AssertNoStrayProcesses();
    }

    [Fact]
    public async Task ResumedTurns_ToTheOwningNodeAndToAnotherNode_BothWork_LatencyRecorded()
    {
        const int Samples = 10;
        const string Owner = "node-1";
        const string Other = "node-2";
        var tag = Tag();
        using var ownerClient = ClusterHttp.Client(fixture.Node(Owner));
        using var otherClient = ClusterHttp.Client(fixture.Node(Other));
        var head = await ClusterHttp.TurnAsync(ownerClient, Owner, Model, $"{tag}-0", null, _timeout);
        Assert.True(head.Succeeded, head.ToString());
        var turns = 1;
        var local = new List<double>();
        var remote = new List<double>();

        // One warm-up each, then alternate so both see the same conversation length; every turn continues the head (resume).
        for (var i = 0; i < Samples + 1; i++)
        {
            foreach (var (client, id, samples) in new[] { (ownerClient, Owner, local), (otherClient, Other, remote) })
            {
                var stopwatch = Stopwatch.StartNew();
                var next = await ClusterHttp.TurnAsync(client, id, Model, $"{tag}-{turns}", head.Id, _timeout);
                var elapsed = stopwatch.Elapsed.TotalMilliseconds;
                Assert.True(next.Succeeded, next.ToString());
                Assert.StartsWith($"ECHO turn={turns + 1} prior_assistant={turns} :: {tag}-{turns} |", next.OutputText);
                if (i > 0)
                {
                    samples.Add(elapsed);
                }

                head = next;
                turns++;
            }
        }

        // The hop alone, without a CLI: GET of a stored response is one grain call on the conversation.
        var getLocal = new List<double>();
        var getRemote = new List<double>();
        for (var i = 0; i < 2 * Samples + 2; i++)
        {
            foreach (var (client, id, samples) in new[] { (ownerClient, Owner, getLocal), (otherClient, Other, getRemote) })
            {
                var stopwatch = Stopwatch.StartNew();
                var fetched = await ClusterHttp.GetAsync(client, id, head.Id!, _timeout);
                var elapsed = stopwatch.Elapsed.TotalMilliseconds;
                Assert.True(fetched.Succeeded, fetched.ToString());
                if (i >= 2)
                {
                    samples.Add(elapsed);
                }
            }
        }

        var entry = await fixture.DirectoryEntryAsync(ClusterHttp.ConversationOf(head.Id!));
        output.WriteLine(
            $"resumed Codex turn, ms (min / median / max) over {Samples}: to the owning node {Summary(local)}; through another node {Summary(remote)}; " +
            $"difference of medians {ClusterHttp.Median(remote) - ClusterHttp.Median(local):F1} ms");
        output.WriteLine(
            $"GET /v1/responses/{{id}} (one grain call), ms (min / median / max) over {getLocal.Count}: to the owning node {Summary(getLocal)}; " +
            $"through another node {Summary(getRemote)}; difference of medians {ClusterHttp.Median(getRemote) - ClusterHttp.Median(getLocal):F2} ms");
        Assert.Equal(Owner, entry?.NodeId);
        AssertNoStrayProcesses();
    }

    private async Task<TurnAnswer> TurnAsync(string nodeId, string input, string? previousResponseId)
    {
        using var http = ClusterHttp.Client(fixture.Node(nodeId));
        var answer = await ClusterHttp.TurnAsync(http, nodeId, Model, input, previousResponseId, _timeout);
        Assert.True(answer.Succeeded, answer.ToString());
        return answer;
    }

    private void AssertNoStrayProcesses()
    {
        var strays = fixture.StrayProcesses();
        foreach (var stray in strays)
        {
            ProcessTree.Signal(stray.Pid, 9);
        }

        Assert.True(strays.Count == 0, $"Processes no running node owns (killed now): {string.Join(", ", strays)}");
    }

    private static async Task<SseEvent?> NextEventAsync(ChannelReader<SseEvent> events, Func<SseEvent, bool> match, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await foreach (var e in events.ReadAllAsync(cancellation.Token))
            {
                if (match(e))
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // The stream broke without a terminal event.
        }

        return null;
    }

    private static async Task<T> WaitForAsync<T>(Func<T> read, Func<T, bool> done, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        var value = read();
        while (!done(value) && stopwatch.Elapsed < timeout)
        {
            await Task.Delay(50);
            value = read();
        }

        return value;
    }

    private enum SessionKind
    {
        /// <summary>The CLI session was resumed: the model got the earlier exchanges as real messages.</summary>
        Resumed,

        /// <summary>A fresh CLI session seeded with the stored transcript, pasted into one message.</summary>
        Seeded,
    }

    /// <summary>
    /// Asserts that the stub's echo answered <paramref name="latest"/> having seen exactly <paramref name="earlier"/> as the earlier user
    /// inputs, in order, with one answer each, and says how: a resumed session
    /// (<c>ECHO turn=N prior_assistant=N-1 :: latest | history: a / b</c>) or a fresh session whose single message carries the
    /// conversation's transcript (<c>[user]</c>/<c>[assistant]</c> blocks, then "Reply to the latest message:").
    /// </summary>
    private static SessionKind AssertAnsweredWithHistory(string answer, string latest, params string[] earlier)
    {
        var resumed = $"ECHO turn={earlier.Length + 1} prior_assistant={earlier.Length} :: {latest} | history: {(earlier.Length == 0 ? "-" : string.Join(" / ", earlier))}";
        if (answer == resumed)
        {
            return SessionKind.Resumed;
        }

        Assert.StartsWith("ECHO turn=1 prior_assistant=0 :: This conversation continues from the transcript below", answer);
        Assert.EndsWith($"Reply to the latest message:\n\n{latest} | history: -", answer);
        var end = answer.IndexOf("</transcript>", StringComparison.Ordinal);
        Assert.True(end > 0, answer);
        var transcript = answer[..end];
        Assert.Equal(earlier, Regex.Matches(transcript, @"\[user\]\n(.*)\n").Select(m => m.Groups[1].Value));
        Assert.Equal(earlier.Length, Regex.Matches(transcript, @"\[assistant\]\n").Count);
        return SessionKind.Seeded;
    }

    private static int CountActivations(string processOutput, string conversationId) =>
        Regex.Matches(processOutput, $@"Activated conversation/{Regex.Escape(conversationId)} \(activation ").Count;

    private static string Fork(string tag, int i) => string.Create(CultureInfo.InvariantCulture, $"{tag}-fork-{i:D3}");

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..6];

    private static string Summary(IReadOnlyList<double> samples) => $"{samples.Min():F1} / {ClusterHttp.Median(samples):F1} / {samples.Max():F1}";

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
