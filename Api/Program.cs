using OrleansCodex.Api.Hosting;
using OrleansCodex.Silo.Hosting;

// Settings ship next to the binary; the working directory is where data goes (Storage:DataDirectory is relative to it).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

builder.AddOrleansCodexSilo();
builder.AddOpenAiApi();

var app = builder.Build();

app.MapOpenAiApi();

app.Run();

/// <summary>The OpenAI-compatible front end; co-hosts a silo by default. Public for <c>WebApplicationFactory</c>.</summary>
public partial class Program;
