using OrleansCodex.Api.Hosting;
using OrleansCodex.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.AddOrleansCodexSilo();
builder.AddOpenAiApi();

var app = builder.Build();

app.MapOpenAiApi();

app.Run();

/// <summary>The OpenAI-compatible front end; co-hosts a silo by default. Public for <c>WebApplicationFactory</c>.</summary>
public partial class Program;
