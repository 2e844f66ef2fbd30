using OrleansCodex.Grains.Conversations;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>A node with <c>Cli:LocalOnly</c> whose Claude Code is pointed at a remote model server, and whose Codex uses the local stub.</summary>
public sealed class LocalOnlyHostFixture : ConversationHostFixture
{
    public const string RemoteAnthropic = "https://api.anthropic.com";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Cli:LocalOnly", "true"),
        new("Cli:ExtraEnvironment:ANTHROPIC_BASE_URL", RemoteAnthropic),
    ];
}

/// <summary><c>Cli:LocalOnly</c> is enforced by the worker, before any CLI process is started.</summary>
public sealed class LocalOnlyTests(LocalOnlyHostFixture host) : IClassFixture<LocalOnlyHostFixture>
{
    [Fact]
    public async Task RunTurn_ProviderWithARemoteModelServer_FailsProviderNotLocalWithoutStartingTheCli()
    {
        var requestsBefore = host.Stub.Requests.Count;
        var conversation = ResponseIds.NewConversationId();

        var events = await host.RunTurnAsync(Turns.Request(conversation, Turns.Claude, "to a remote model"));

        var error = Turns.AssertFailed(events, TurnErrorCodes.ProviderNotLocal);
        Assert.Contains("Claude Code", error.Message, StringComparison.Ordinal);
        Assert.Contains(LocalOnlyHostFixture.RemoteAnthropic, error.Message, StringComparison.Ordinal);
        Assert.Contains("Cli:LocalOnly", error.Message, StringComparison.Ordinal);
        Assert.Equal(requestsBefore, host.Stub.Requests.Count);
        Assert.Empty(host.Logs.CliRuns(host.WorkingDirectory(conversation)));
    }

    [Fact]
    public async Task RunTurn_ProviderOnThisMachine_Runs()
    {
        var done = await host.CompleteTurnAsync(Turns.Request(ResponseIds.NewConversationId(), Turns.Codex, "to the local stub"));

        Assert.Contains("to the local stub", done.Text, StringComparison.Ordinal);
        Assert.Contains(host.Stub.Requests, r => r.Model == StubModelServer.CodexModel);
    }
}
