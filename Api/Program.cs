using OrleansCodex.Api.Hosting;
using OrleansCodex.Api.Options;
using OrleansCodex.Silo.Dashboard;
using OrleansCodex.Silo.Hosting;

// Settings ship next to the binary; the working directory is where data goes (Storage:DataDirectory is relative to it).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddOrleansCodexLogging();

// Api:CoHostSilo (default true) runs an Orleans silo in this process; false makes it a pure Orleans client of a Postgres cluster.
if (builder.Configuration.GetValue($"{ApiOptions.SectionName}:{nameof(ApiOptions.CoHostSilo)}", defaultValue: true))
{
    builder.AddOrleansCodexSilo();
}
else
{
    builder.AddOrleansCodexClient();
}

builder.AddOrleansDashboardAccess();
builder.AddOpenAiApi();

var app = builder.Build();
app.MapOpenAiApi();
app.Run();

/// <summary>The OpenAI-compatible front end; co-hosts a silo by default. Public for <c>WebApplicationFactory</c>.</summary>
public partial class Program;
