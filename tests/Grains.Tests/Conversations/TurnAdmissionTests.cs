using OrleansCodex.Grains.Conversations;
using OrleansCodex.Grains.Providers;
using Xunit;

namespace OrleansCodex.Grains.Tests.HostedConversations;

/// <summary>The node's own policy for a turn's privileges, applied by the conversation that accepts it.</summary>
public sealed class TurnAdmissionTests
{
    private static TurnRequest Request(string? sandbox = null, bool? network = null, TimeSpan? timeout = null, string model = "gpt-5.5") => new()
    {
        ResponseId = ResponseIds.NewResponseId(ResponseIds.NewConversationId()),
        Model = model,
        Input = [InputMessage.User("hi")],
        CreatedAt = DateTimeOffset.UtcNow,
        Sandbox = sandbox,
        NetworkAccess = network,
        Timeout = timeout,
    };

    private static TurnError? Check(TurnRequest request, Action<CliOptions>? configure = null)
    {
        var options = new CliOptions();
        configure?.Invoke(options);
        return TurnAdmission.Check(request, ModelRouting.ProviderFor(request.Model), options);
    }

    [Fact]
    public void Check_LowerSandboxThanTheNode_IsAdmitted() =>
        Assert.Null(Check(Request(sandbox: "read-only"), o => o.CodexSandboxMode = "workspace-write"));

    [Theory]
    [InlineData("workspace-write")]
    [InlineData("danger-full-access")]
    public void Check_HigherSandboxThanTheNode_IsRefusedNamingTheField(string sandbox)
    {
        var error = Check(Request(sandbox: sandbox));

        Assert.NotNull(error);
        Assert.Equal(TurnErrorCodes.PrivilegeNotAllowed, error.Code);
        Assert.Equal("x_codex.sandbox", error.Param);
        Assert.Equal(400, TurnErrorCodes.HttpStatus(error.Code));
    }

    [Fact]
    public void Check_DangerFullAccessWithoutTheNodeFlag_IsRefusedEvenWhenRaisingIsAllowed()
    {
        var error = Check(Request(sandbox: "danger-full-access"), o => o.AllowRaisingPrivileges = true);

        Assert.Contains("CodexAllowDangerFullAccess", error?.Message);
    }

    [Fact]
    public void Check_RaisingWhenTheNodeAllowsIt_IsAdmitted() =>
        Assert.Null(Check(Request(sandbox: "workspace-write", network: true), o => o.AllowRaisingPrivileges = true));

    [Fact]
    public void Check_NetworkAccessBeyondTheNode_IsRefused()
    {
        var error = Check(Request(network: true), o => o.CodexSandboxMode = "workspace-write");

        Assert.Equal(("x_codex.network_access", TurnErrorCodes.PrivilegeNotAllowed), (error?.Param, error?.Code));
    }

    [Fact]
    public void Check_NetworkAccessInReadOnly_IsRefused()
    {
        var error = Check(Request(network: true), o => o.AllowRaisingPrivileges = true);

        Assert.Equal(("x_codex.network_access", TurnErrorCodes.InvalidValue), (error?.Param, error?.Code));
    }

    [Fact]
    public void Check_TimeoutAboveTheNodes_IsRefused()
    {
        var error = Check(Request(timeout: TimeSpan.FromSeconds(121)));

        Assert.Equal(("x_codex.timeout", TurnErrorCodes.InvalidValue), (error?.Param, error?.Code));
        Assert.Contains("120 s", error?.Message);
    }

    [Fact]
    public void Check_LocalOnlyWithARemoteModelServer_IsRefusedBeforeAnythingRuns()
    {
        var error = Check(Request(model: "sonnet"), o =>
        {
            o.LocalOnly = true;
            o.ExtraEnvironment["ANTHROPIC_BASE_URL"] = "https://api.anthropic.com";
        });

        Assert.Equal(TurnErrorCodes.ProviderNotLocal, error?.Code);
    }
}
