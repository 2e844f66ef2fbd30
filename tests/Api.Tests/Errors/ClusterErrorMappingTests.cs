using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Turns;
using OrleansCodex.Cluster;
using OrleansCodex.Grains.Conversations;
using Xunit;

namespace OrleansCodex.Api.Tests.Errors;

/// <summary>How failures of the cluster reach a client: in the error envelope before a stream starts, as a terminal event after.</summary>
public sealed class ClusterErrorMappingTests
{
    [Fact]
    public void FromException_NodeLostDuringTheCall_Is503NodeUnavailableWithRetryAfter()
    {
        var error = OpenAiErrors.FromException(new SiloUnavailableException("Node node-2@1 (http://10.0.0.7:8080/) was declared dead during the call."));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal(TurnErrorCodes.NodeUnavailable, error.Code);
        Assert.Equal(OpenAiErrorTypes.ServiceUnavailable, error.Type);
        Assert.Equal(5, error.RetryAfterSeconds);
        Assert.DoesNotContain("10.0.0.7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromException_NoNodeServesTheProvider_Is503ProviderUnavailable()
    {
        var error = OpenAiErrors.FromException(new NoEligibleNodeException("None of the 2 active nodes declares providers containing 'claude'."));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal(TurnErrorCodes.ProviderUnavailable, error.Code);
    }

    [Fact]
    public void FromException_CallTimedOut_Is504Timeout()
    {
        var error = OpenAiErrors.FromException(new TimeoutException("no answer within Cluster:CallTimeout"));

        Assert.Equal(504, error.StatusCode);
        Assert.Equal(TurnErrorCodes.Timeout, error.Code);
    }

    [Fact]
    public void TurnOutcome_FromUnexpectedException_IsTheGenericServerError() =>
        Assert.Same(TurnOutcome.Broken, TurnOutcome.FromException(new InvalidOperationException("bug")));
}
