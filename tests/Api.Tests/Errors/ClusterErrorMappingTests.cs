using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Turns;
using OrleansCodex.Grains.Conversations;
using Xunit;

namespace OrleansCodex.Api.Tests.Errors;

/// <summary>How failures of the cluster reach a client: in the error envelope before a stream starts, as a terminal event after.</summary>
public sealed class ClusterErrorMappingTests
{
    [Fact]
    public void FromException_NodeLostDuringTheCall_Is503NodeUnavailableWithRetryAfter()
    {
        var error = OpenAiErrors.FromException(new SiloUnavailableException("The target silo became unavailable for message: S10.0.0.7:11111:1234 was declared dead."));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal(TurnErrorCodes.NodeUnavailable, error.Code);
        Assert.Equal(OpenAiErrorTypes.ServiceUnavailable, error.Type);
        Assert.Equal(5, error.RetryAfterSeconds);
        Assert.DoesNotContain("10.0.0.7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromException_NoNodeServesTheProvider_Is503ProviderUnavailable()
    {
        var error = OpenAiErrors.FromException(new ProviderUnavailableException("claude"));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal(TurnErrorCodes.ProviderUnavailable, error.Code);
    }

    [Fact]
    public void FromException_CallTimedOut_Is504Timeout()
    {
        var error = OpenAiErrors.FromException(new TimeoutException("Response did not arrive on time in 00:00:10 for message: Request S10.0.0.7:11111:1234"));

        Assert.Equal(504, error.StatusCode);
        Assert.Equal(TurnErrorCodes.Timeout, error.Code);
        Assert.DoesNotContain("10.0.0.7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromException_GatewayConnectionLost_Is503NodeUnavailable()
    {
        var error = OpenAiErrors.FromException(new OrleansException("Connection to 10.0.0.7:30000 was lost."));

        Assert.Equal(503, error.StatusCode);
        Assert.Equal(TurnErrorCodes.NodeUnavailable, error.Code);
        Assert.DoesNotContain("10.0.0.7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TurnOutcome_FromUnexpectedException_IsTheGenericServerError() =>
        Assert.Same(TurnOutcome.Broken, TurnOutcome.FromException(new InvalidOperationException("bug")));
}
