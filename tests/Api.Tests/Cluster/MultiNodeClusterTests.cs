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
/// The cluster as operators run it: three Api processes co-hosting Orleans silos over one PostgreSQL database, the real Codex CLI
/// against the stub model, real <c>kill -9</c> and <c>SIGSTOP</c>. Single activation under concurrent load from every node,
/// failover after kill -9, streams from a dead silo ending at once (co-hosted and pure clients), a turn re-run when its node died
/// before it produced anything, healthy silos keeping their conversations, a restarted node as a new silo generation, a paused
/// owner (declared dead, stops itself and its CLIs), silent turns longer than the call timeout, and the cost of the extra hop.
/// Each test starts from three converged nodes and leaves no process behind.
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
            // Warnings and errors, each error with the first line of its exception.
            var all = text[Math.Min(_outputStart.GetValueOrDefault(node), text.Length)..].Split('\n');
            var lines = all.Select((l, i) => (l, i))
                .Where(x => x.l.Contains(" WRN] ", StringComparison.Ordinal) || x.l.Contains(" ERR] ", StringComparison.Ordinal) || x.l.Contains(" FTL] ", StringComparison.Ordinal))
                .Select(x => x.l.Contains(" WRN] ", StringComparison.Ordinal) || x.i + 1 >= all.Length || all[x.i + 1].StartsWith('[') ? x.l : x.l + "\n      " + all[x.i + 1])
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
        var owner = await fixture.WhereIsAsync(conversation);
        var orleansCount = await fixture.ActivationCountAsync(conversation);
        var activations = NodeIds.ToDictionary(id => id, id => CountActivations(fixture.Node(id).Output, conversation));
        var stubRequests = fixture.Stub.Requests;

        output.WriteLine(
            $"{Turns} concurrent forks through 3 nodes: {stopwatch.Elapsed.TotalSeconds:F1} s ({stopwatch.Elapsed.TotalMilliseconds / Turns:F0} ms per turn); " +
            $"peak concurrent model requests {peak}; activations per node {string.Join(", ", activations.Select(a => $"{a.Key}={a.Value}"))}; " +
            $"Orleans: {orleansCount} activation(s), on {owner}");
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
        Assert.Equal(1, orleansCount);
        Assert.NotNull(owner);
        Assert.Equal(1, activations[owner]);
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
        Assert.Equal(owner, await fixture.WhereIsAsync(conversation));
        using var survivorClient = ClusterHttp.Client(fixture.Node(survivor));

        var stopwatch = Stopwatch.StartNew();
        await fixture.Node(owner).KillTreeAsync();
        var four = await ClusterHttp.TurnAsync(survivorClient, survivor, Model, $"{tag}-four", three.Id, _timeout);
        var failover = stopwatch.Elapsed;
        var newOwner = await fixture.WhereIsAsync(conversation);

        output.WriteLine(
            $"kill -9 of {owner} -> turn 4 through {survivor} answered in {failover.TotalMilliseconds:F0} ms " +
            $"(turn 3, resumed on {owner} through node-1: {baseline.Elapsed.TotalMilliseconds:F0} ms); conversation now on {newOwner}");
        Assert.True(four.Succeeded, four.ToString());
        // The CLI session died with its node: a fresh session seeded with the three stored turns.
        Assert.Equal(SessionKind.Seeded, AssertAnsweredWithHistory(four.OutputText, $"{tag}-four", $"{tag}-one", $"{tag}-two", $"{tag}-three"));
        Assert.True(failover < TimeSpan.FromSeconds(5), $"failover took {failover}");
        Assert.NotNull(newOwner);
        Assert.NotEqual(owner, newOwner);
        AssertNoStrayProcesses();

        await fixture.RestartNodeAsync(owner);
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task SiloKilled_ConversationsOnTheHealthySilosKeepTheirActivationAndTheirCliSession()
    {
        var tag = Tag();
        // Several conversations on each of node-1 and node-2 (the directory spreads their entries over all three silos).
        var kept = new List<(string Node, TurnAnswer First)>();
        foreach (var node in new[] { "node-1", "node-2" })
        {
            for (var i = 0; i < 4; i++)
            {
                kept.Add((node, await TurnAsync(node, $"{tag}-{node}-{i}", null)));
            }
        }

        var before = NodeIds.Take(2).ToDictionary(id => id, id => fixture.Node(id).Output.Length);

        await fixture.Node("node-3").KillTreeAsync();
        await Task.Delay(TimeSpan.FromSeconds(3), _timeout);
        var next = await Task.WhenAll(kept.Select(k => ClusterHttp.TurnAsync(ClusterHttp.Client(fixture.Node(k.Node)), k.Node, Model,
            $"{k.First.Id![^6..]}-next", k.First.Id, _timeout)));

        // Every conversation stayed where it was: no new activation anywhere, and each resumed its CLI session (the model saw the
        // first exchange as real messages, not a transcript).
        Assert.All(next.Select((answer, i) => (answer, i)), x =>
        {
            Assert.True(x.answer.Succeeded, x.answer.ToString());
            Assert.Equal(SessionKind.Resumed, AssertAnsweredWithHistory(x.answer.OutputText, $"{kept[x.i].First.Id![^6..]}-next", $"{tag}-{kept[x.i].Node}-{x.i % 4}"));
        });
        foreach (var (node, first) in kept)
        {
            var conversation = ClusterHttp.ConversationOf(first.Id!);
            Assert.Equal(0, CountActivations(fixture.Node(node).Output[before[node]..], conversation));
            Assert.Equal(node, await fixture.WhereIsAsync(conversation));
        }

        AssertNoStrayProcesses();
        await fixture.RestartNodeAsync("node-3");
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task OwnerKilledDuringACrossNodeStream_StreamEndsAtOnceWithNodeUnavailable()
    {
        const string A = "node-1";
        const string B = "node-2";
        var tag = Tag();
        var one = await TurnAsync(A, $"{tag}-one", null);
        using var clientB = ClusterHttp.Client(fixture.Node(B));
        var (response, events) = await ClusterHttp.StreamTurnAsync(clientB, StubModelServer.MagicModels.Slow, $"{tag}-slow", one.Id, _timeout);
        using var _ = response;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(await NextEventAsync(events, e => e.Type == "response.output_text.delta", TimeSpan.FromSeconds(20)));

        var killed = Stopwatch.StartNew();
        await fixture.Node(A).KillTreeAsync();
        var terminal = await NextEventAsync(events, e => e.Type is "response.failed" or "response.completed" or "error", TimeSpan.FromSeconds(15));
        var endedAfter = killed.Elapsed;

        output.WriteLine($"kill -9 of {A} during a stream through {B}: {terminal?.Type} after {endedAfter.TotalMilliseconds:F0} ms: {terminal?.Data}");
        Assert.Equal("response.failed", terminal?.Type);
        Assert.Equal("node_unavailable", terminal!.Data.GetProperty("response").GetProperty("error").GetProperty("code").GetString());
        // Declared dead in about two seconds; well before the call timeout would end it.
        Assert.True(endedAfter < TimeSpan.FromSeconds(5), $"the stream ended {endedAfter} after the kill");
        AssertNoStrayProcesses();

        await fixture.RestartNodeAsync(A);
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task OwnerKilledBeforeTheTurnProducedAnything_TheTurnRunsAgainElsewhere_AndTheClientGetsOneAnswer()
    {
        const string A = "node-3";
        const string B = "node-1";
        var tag = Tag();
        var one = await TurnAsync(A, $"{tag}-one", null);
        var conversation = ClusterHttp.ConversationOf(one.Id!);
        using var clientB = ClusterHttp.Client(fixture.Node(B));
        var input = $"{tag}-paused";

        // A non-streamed turn through B, run on A by a model that stays silent for a while: nothing reaches the client before the end.
        var turn = ClusterHttp.TurnAsync(clientB, B, StubModelServer.MagicModels.Pause, input, one.Id, _timeout);
        await WaitForAsync(() => fixture.Stub.Requests.Count(r => LastUserText(r) == input), n => n > 0, TimeSpan.FromSeconds(20));
        var killed = Stopwatch.StartNew();
        await fixture.Node(A).KillTreeAsync();
        var answer = await turn;
        var answeredAfter = killed.Elapsed;
        var stored = await ClusterHttp.GetAsync(clientB, B, answer.Id ?? "", _timeout);

        output.WriteLine($"kill -9 of {A} during a silent turn through {B}: answered {(int)answer.StatusCode} {answeredAfter.TotalMilliseconds:F0} ms after the kill; now on {await fixture.WhereIsAsync(conversation)}");
        Assert.True(answer.Succeeded, answer.ToString());
        Assert.Equal(SessionKind.Seeded, AssertAnsweredWithHistory(answer.OutputText, input, $"{tag}-one"));
        // The same response, stored once, completed; the model was asked twice (the first run died with A).
        Assert.Equal(answer.OutputText, stored.OutputText);
        Assert.Equal("completed", stored.Status);
        Assert.Equal(2, fixture.Stub.Requests.Count(r => LastUserText(r).EndsWith(input, StringComparison.Ordinal)));
        AssertNoStrayProcesses();

        await fixture.RestartNodeAsync(A);
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task SilentTurnLongerThanTheCallTimeout_ThroughAnotherNode_Completes()
    {
        var tag = Tag();
        var one = await TurnAsync("node-1", $"{tag}-one", null);
        using var clientB = ClusterHttp.Client(fixture.Node("node-2"));

        var stopwatch = Stopwatch.StartNew();
        var paused = await ClusterHttp.TurnAsync(clientB, "node-2", StubModelServer.MagicModels.Pause, $"{tag}-quiet", one.Id, _timeout);

        output.WriteLine($"a turn silent for {StubModelServer.MagicModels.PauseDuration} (call timeout {ClusterFixture.CallTimeout}) answered after {stopwatch.Elapsed.TotalSeconds:F1} s");
        Assert.True(paused.Succeeded, paused.ToString());
        Assert.True(StubModelServer.MagicModels.PauseDuration > ClusterFixture.CallTimeout * 1.5);
        AssertAnsweredWithHistory(paused.OutputText, $"{tag}-quiet", $"{tag}-one");
    }

    [Fact]
    public async Task NodeRestartedWithTheSameId_IsANewSiloGeneration_OldOneDead_AndTurnsWorkThroughIt()
    {
        const string Id = "node-3";
        var tag = Tag();
        var one = await TurnAsync(Id, $"{tag}-one", null);
        var two = await TurnAsync("node-1", $"{tag}-two", one.Id);
        var conversation = ClusterHttp.ConversationOf(one.Id!);
        Assert.Equal(Id, await fixture.WhereIsAsync(conversation));
        var oldGeneration = (await fixture.MemberRowsAsync(Id)).Single(r => r.Status == "Active").Generation;
        var port = fixture.Node(Id).Port;

        await fixture.Node(Id).KillTreeAsync();
        var stopwatch = Stopwatch.StartNew();
        var restarted = await fixture.RestartNodeAsync(Id);
        var restartTime = stopwatch.Elapsed;
        await fixture.WaitForClusterAsync();
        var rows = await fixture.MemberRowsAsync(Id);

        output.WriteLine($"{Id} restarted in {restartTime.TotalMilliseconds:F0} ms; membership rows: {string.Join(", ", rows)}");
        Assert.Equal(port, restarted.Port);
        Assert.Equal("Dead", rows.Single(r => r.Generation == oldGeneration).Status);
        var active = Assert.Single(rows, r => r.Status != "Dead");
        Assert.True(active.Generation > oldGeneration, $"new generation {active.Generation} is not above {oldGeneration}");
        Assert.Equal("Active", active.Status);

        var three = await TurnAsync(Id, $"{tag}-three", two.Id);
        // Same node id, so the new silo resumes the CLI session the old one left (documented for Cluster:NodeId).
        Assert.Equal(SessionKind.Resumed, AssertAnsweredWithHistory(three.OutputText, $"{tag}-three", $"{tag}-one", $"{tag}-two"));
        Assert.Equal(Id, await fixture.WhereIsAsync(conversation));

        // A new conversation lands on the restarted node and is reachable from the others.
        var fresh = await TurnAsync(Id, $"{tag}-fresh", null);
        var freshNext = await TurnAsync("node-2", $"{tag}-fresh-next", fresh.Id);
        Assert.Equal(Id, await fixture.WhereIsAsync(ClusterHttp.ConversationOf(fresh.Id!)));
        AssertAnsweredWithHistory(freshNext.OutputText, $"{tag}-fresh-next", $"{tag}-fresh");
        AssertNoStrayProcesses();
    }

    [Fact]
    public async Task OwnerPausedDuringACrossNodeStream_StreamFails_NextTurnSucceeds_OwnerStopsItselfAndItsClis_LateWriteRejected()
    {
        const string A = "node-1";
        const string B = "node-2";
        var tag = Tag();
        var one = await TurnAsync(A, $"{tag}-one", null);
        var conversation = ClusterHttp.ConversationOf(one.Id!);
        Assert.Equal(A, await fixture.WhereIsAsync(conversation));
        var owner = fixture.Node(A);
        var oldGeneration = (await fixture.MemberRowsAsync(A)).Single(r => r.Status == "Active").Generation;
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
            var terminal = await NextEventAsync(events, e => e.Type is "response.failed" or "error" or "response.completed", TimeSpan.FromSeconds(15));
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
        var exited = await owner.WaitForExitAsync(TimeSpan.FromSeconds(20));
        var exitTime = resumed.Elapsed;
        output.WriteLine(FormattableString.Invariant(
            $"after SIGCONT {A} {(exited ? $"exited by itself (code {owner.ExitCode})" : "was still running")} after {exitTime.TotalMilliseconds:F0} ms"));
        var leftoverClis = await WaitForAsync(() => cliPids.Where(ProcessTree.IsRunning).ToList(), l => l.Count == 0, TimeSpan.FromSeconds(10));
        var slow = await ClusterHttp.GetAsync(clientB, B, slowId, _timeout);
        var rows = await fixture.MemberRowsAsync(A);
        output.WriteLine($"slow turn stored as: {slow.Status}; {A} rows: {string.Join(", ", rows)}; A's output tail:\n{Tail(owner.Output, 25)}");

        // A hung silo is declared dead within 10 s and its conversation moves.
        Assert.True(failedAfter < TimeSpan.FromSeconds(10), $"the stream failed {failedAfter} after SIGSTOP");
        Assert.True(next.Succeeded, next.ToString());
        AssertAnsweredWithHistory(next.OutputText, $"{tag}-after", $"{tag}-one");
        Assert.NotEqual(A, await fixture.WhereIsAsync(conversation));
        // Resumed, A learns it was declared dead and stops, killing its CLIs' process groups first.
        Assert.True(exited, $"{A} did not stop by itself within 20 s of SIGCONT:\n{Tail(owner.Output, 40)}");
        Assert.Empty(leftoverClis);
        Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
        Assert.Equal("failed", slow.Status);
        Assert.Equal("Dead", rows.Single(r => r.Generation == oldGeneration).Status);
        Assert.True(await fixture.Stub.WaitForNoActiveStreamsAsync(TimeSpan.FromSeconds(10)), "the slow model stream is still open");

        // Still failed a moment later: nothing wrote the late completion.
        await Task.Delay(1000, _timeout);
        Assert.Equal("failed", (await ClusterHttp.GetAsync(clientB, B, slowId, _timeout)).Status);
        AssertNoStrayProcesses();

        await fixture.RestartNodeAsync(A);
        await fixture.WaitForClusterAsync();
    }

    [Fact]
    public async Task PureClientInFrontOfTwoSilos_TurnsContinue_AndAStreamFromAKilledSiloEndsAtOnce()
    {
        var tag = Tag();
        var connectionString = await fixture.Postgres.CreateDatabaseAsync();
        var clusterId = $"client-tests-{Guid.NewGuid().ToString("N")[..8]}";
        var started = new List<ServiceProcess>();
        try
        {
            var siloIds = new[] { "silo-a", "silo-b" };
            var silos = new List<ServiceProcess>();
            foreach (var id in siloIds)
            {
                // One after the other: the first applies the schema (the runner's lock would serialise them anyway).
                silos.Add(await fixture.StartOtherAsync(id, [.. ClusterFixture.ClusterArguments(id, clusterId, connectionString, ClusterFixture.FreeOrleansPorts()), .. ProductionCallTimeout], ServiceExecutable.Silo));
            }

            started.AddRange(silos);
            var client = await fixture.StartOtherAsync("client",
                [.. ClusterFixture.ClusterArguments("client", clusterId, connectionString, ClusterFixture.FreeOrleansPorts()), .. ProductionCallTimeout, "--Api:CoHostSilo", "false"], ServiceExecutable.Api);
            started.Add(client);
            using var http = ClusterHttp.Client(client);

            var one = await ClusterHttp.TurnAsync(http, "client", Model, $"{tag}-one", null, _timeout);
            Assert.True(one.Succeeded, $"{one}\nclient:\n{Tail(client.Output, 30)}\nsilo-a:\n{Tail(silos[0].Output, 30)}");
            var two = await ClusterHttp.TurnAsync(http, "client", Model, $"{tag}-two", one.Id, _timeout);
            var fetched = await ClusterHttp.GetAsync(http, "client", one.Id!, _timeout);
            var conversation = ClusterHttp.ConversationOf(one.Id!);
            var activations = silos.Select(s => CountActivations(s.Output, conversation)).ToList();
            Assert.True(two.Succeeded, two.ToString());
            Assert.Equal(SessionKind.Resumed, AssertAnsweredWithHistory(two.OutputText, $"{tag}-two", $"{tag}-one"));
            Assert.Equal(one.OutputText, fetched.OutputText);
            Assert.Equal(1, activations.Sum());
            Assert.Empty(client.Descendants());

            // A stream through the pure client from the silo holding the conversation; that silo is killed.
            var ownerIndex = activations.FindIndex(n => n == 1);
            var (response, events) = await ClusterHttp.StreamTurnAsync(http, StubModelServer.MagicModels.Slow, $"{tag}-slow", two.Id, _timeout);
            using var _ = response;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.NotNull(await NextEventAsync(events, e => e.Type == "response.output_text.delta", TimeSpan.FromSeconds(20)));
            var killed = Stopwatch.StartNew();
            await silos[ownerIndex].KillTreeAsync();
            var terminal = await NextEventAsync(events, e => e.Type is "response.failed" or "response.completed" or "error", TimeSpan.FromSeconds(20));
            var endedAfter = killed.Elapsed;
            var three = await ClusterHttp.TurnAsync(http, "client", Model, $"{tag}-three", two.Id, _timeout);
            var answeredAfter = killed.Elapsed;

            output.WriteLine($"pure client: kill -9 of {siloIds[ownerIndex]} -> its stream ended with {terminal?.Type} after {endedAfter.TotalMilliseconds:F0} ms " +
                $"(call timeout 10 s, the default); next turn answered {answeredAfter.TotalMilliseconds:F0} ms after the kill");
            Assert.Equal("response.failed", terminal?.Type);
            // Membership, read by the client itself, ends the stream (node_unavailable) as soon as the silo is declared dead; Orleans'
            // client alone would wait for its call timeout (timeout). Declaration takes ~1.5 s, several on a loaded 2-core machine.
            Assert.Equal("node_unavailable", terminal!.Data.GetProperty("response").GetProperty("error").GetProperty("code").GetString());
            Assert.True(endedAfter < TimeSpan.FromSeconds(7), $"the stream ended {endedAfter} after the kill");
            Assert.True(three.Succeeded, three.ToString());
            AssertAnsweredWithHistory(three.OutputText, $"{tag}-three", $"{tag}-one", $"{tag}-two");
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

        output.WriteLine(
            $"resumed Codex turn, ms (min / median / max) over {Samples}: to the owning node {Summary(local)}; through another node {Summary(remote)}; " +
            $"difference of medians {ClusterHttp.Median(remote) - ClusterHttp.Median(local):F1} ms");
        output.WriteLine(
            $"GET /v1/responses/{{id}} (one grain call), ms (min / median / max) over {getLocal.Count}: to the owning node {Summary(getLocal)}; " +
            $"through another node {Summary(getRemote)}; difference of medians {ClusterHttp.Median(getRemote) - ClusterHttp.Median(getLocal):F2} ms");
        Assert.Equal(Owner, await fixture.WhereIsAsync(ClusterHttp.ConversationOf(head.Id!)));
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

    /// <summary>The conversation grain's own log line when it activates (event 2000 of <c>ConversationGrain</c>).</summary>
    /// <summary>The production call timeout (10 s), for a test that must tell a membership-ended stream from a timed-out one.</summary>
    private static readonly string[] ProductionCallTimeout = ["--Cluster:CallTimeout", "00:00:10"];

    private static int CountActivations(string processOutput, string conversationId) =>
        Regex.Matches(processOutput, $@"Activated conversation {Regex.Escape(conversationId)} on ").Count;

    private static string LastUserText(StubRequest request) => request.Conversation.UserTexts.Count > 0 ? request.Conversation.UserTexts[^1] : "";

    private static string Fork(string tag, int i) => string.Create(CultureInfo.InvariantCulture, $"{tag}-fork-{i:D3}");

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..6];

    private static string Summary(IReadOnlyList<double> samples) => $"{samples.Min():F1} / {ClusterHttp.Median(samples):F1} / {samples.Max():F1}";

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
