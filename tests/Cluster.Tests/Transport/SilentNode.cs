using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OrleansCodex.Cluster.Membership;
using OrleansCodex.Cluster.Tests.Runtime;
using OrleansCodex.Cluster.Transport;

namespace OrleansCodex.Cluster.Tests.Transport;

/// <summary>
/// A stand-in for a hung node: a real Kestrel at 127.0.0.1:0 that accepts calls and then goes silent, either before answering at all or
/// after the start of a stream, holding the connection open (no reset) until the caller gives up.
/// </summary>
internal sealed class SilentNode : IAsyncDisposable
{
    private SilentNode(WebApplication app) => App = app;

    public WebApplication App { get; }

    public RemoteNode AsTarget => new(new NodeAddress("node-silent", 1), new Uri(App.Urls.Single()));

    /// <summary>Starts a node that reads every call and never answers (no status, no bytes).</summary>
    public static Task<SilentNode> StartNeverAnsweringAsync() => StartAsync(lines: null);

    /// <summary>Starts a node that answers every call with a 200 NDJSON stream holding <paramref name="lines"/>, then writes nothing more.</summary>
    public static Task<SilentNode> StartStreamingThenSilentAsync(params string[] lines) => StartAsync(lines);

    private static async Task<SilentNode> StartAsync(string[]? lines)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRouting();
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        var app = builder.Build();
        app.UseRouting();
        app.MapPost("/_cluster/v1/calls", async context =>
        {
            if (lines is not null)
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "application/x-ndjson";
                foreach (var line in lines)
                {
                    await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                }

                await context.Response.Body.FlushAsync(context.RequestAborted);
            }

            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        });
        using var timeout = new CancellationTokenSource(TestTimeouts.Wait);
        await app.StartAsync(timeout.Token);
        return new SilentNode(app);
    }

    public async ValueTask DisposeAsync()
    {
        using (var timeout = new CancellationTokenSource(TestTimeouts.Wait))
        {
            await App.StopAsync(timeout.Token);
        }

        await App.DisposeAsync();
    }
}
