using Microsoft.Extensions.Options;
using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Workers;
using OrleansCodex.Testing.StubModel;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>A node that serves Codex only (<c>Cluster:Providers = codex</c>).</summary>
public sealed class CodexOnlyHostFixture : ConversationHostFixture
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Cluster:Providers", "codex")];
}

/// <summary>Which providers a node serves, and the load it reports for placement.</summary>
public sealed class ServedProvidersTests(CodexOnlyHostFixture host) : IClassFixture<CodexOnlyHostFixture>
{
    [Fact]
    public async Task RunTurn_ProviderTheNodeDoesNotServe_FailsProviderUnavailableWithoutRunningOrStoringAnything()
    {
        var conversation = ResponseIds.NewConversationId();
        var first = Turns.Request(conversation, Turns.Codex, "first words");
        await host.CompleteTurnAsync(first);
        var claudeRequestsBefore = host.Stub.Requests.Count(r => r.Model == Turns.Claude);
        var claude = Turns.Request(conversation, Turns.Claude, "claude words", previousResponseId: first.ResponseId);

        var events = await host.RunTurnAsync(claude);

        var error = Turns.AssertFailed(events, TurnErrorCodes.ProviderUnavailable);
        Assert.Contains("does not serve claude (Cluster:Providers = codex)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Start a new conversation", error.Message, StringComparison.Ordinal);
        Assert.Equal(claudeRequestsBefore, host.Stub.Requests.Count(r => r.Model == Turns.Claude));
        Assert.Null(await host.Conversation(conversation).GetResponse(claude.ResponseId));

        // The conversation goes on with the provider it has.
        var next = await host.CompleteTurnAsync(Turns.Request(conversation, Turns.Codex, "next words", previousResponseId: first.ResponseId));
        Assert.StartsWith("ECHO turn=2 prior_assistant=1", next.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "codex,claude")]
    [InlineData("", "codex,claude")]
    [InlineData("claude", "claude")]
    [InlineData(" Claude , codex, claude ", "claude,codex")]
    public void Parse_ValidSetting_NormalisesIt(string? setting, string expected) =>
        Assert.Equal(expected, ServedProviders.Parse(setting).Setting);

    [Theory]
    [InlineData("codex,gemini", "Cluster:Providers lists 'gemini'; the providers are 'codex' and 'claude' (comma-separated).")]
    [InlineData(" , ", "Cluster:Providers must name at least one provider.")]
    public void Parse_InvalidSetting_ThrowsNamingTheSetting(string setting, string message)
    {
        var error = Assert.Throws<OptionsValidationException>(() => ServedProviders.Parse(setting));

        Assert.Equal([message], error.Failures);
    }

    [Fact]
    public async Task CurrentLoad_BusiestProviderShareOfBusyWorkersPlusWaitingTurns()
    {
        var pool = new CliWorkerPool(Options.Create(new WorkerOptions { Codex = 2, Claude = 4, QueueTimeout = TimeSpan.FromSeconds(30) }), []);
        Assert.Equal(0, pool.CurrentLoad);

        using var codex1 = (await pool.AcquireAsync(CliProvider.Codex, CancellationToken.None)).Lease;
        Assert.Equal(0.5, pool.CurrentLoad, precision: 6);

        using var codex2 = (await pool.AcquireAsync(CliProvider.Codex, CancellationToken.None)).Lease;
        Assert.Equal(1.0, pool.CurrentLoad, precision: 6);

        // A third Codex turn waits: saturated plus one waiting turn over the node's six workers.
        using var cancel = new CancellationTokenSource();
        var waiting = pool.AcquireAsync(CliProvider.Codex, cancel.Token);
        Assert.Equal(1.0 + 1.0 / 6, pool.CurrentLoad, precision: 6);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        codex1!.Dispose();
        Assert.Equal(0.5, pool.CurrentLoad, precision: 6);
    }
}
