using OrleansCodex.Silo.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddOrleansCodexSilo();
var app = builder.Build();
app.Run();
