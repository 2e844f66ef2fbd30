using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansCodex.Api.Auth;
using OrleansCodex.Api.ChatCompletions;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Health;
using OrleansCodex.Api.Logging;
using OrleansCodex.Api.Models;
using OrleansCodex.Api.Options;
using OrleansCodex.Api.Responses;
using OrleansCodex.Api.Turns;
using OrleansCodex.Silo.Dashboard;
using Serilog;

namespace OrleansCodex.Api.Hosting;

/// <summary>Wires the OpenAI-compatible front end: options, logging, errors, auth and the endpoint areas.</summary>
public static class OpenAiApiExtensions
{
    /// <summary>Registers the front end's services and options; listens on loopback unless an address is configured.</summary>
    public static WebApplicationBuilder AddOpenAiApi(this WebApplicationBuilder builder)
    {
        if (!ListenAddresses.AnyConfigured(builder.Configuration))
        {
            builder.WebHost.UseUrls(ListenAddresses.DefaultUrl);
        }

        var services = builder.Services;
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateOnStart();
        services.AddOptions<ModelsOptions>().BindConfiguration(ModelsOptions.SectionName).ValidateOnStart();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateOnStart()
            .PostConfigure<IConfiguration>((auth, configuration) =>
            {
                if (string.IsNullOrEmpty(auth.ApiKey) && configuration["PROXY_API_KEY"] is { Length: > 0 } key)
                {
                    auth.ApiKey = key;
                }
            });
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        services.AddSingleton<IValidateOptions<ModelsOptions>, ModelsOptionsValidator>();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ApiOptions>>((kestrel, api) => kestrel.Limits.MaxRequestBodySize = api.Value.MaxRequestBodyBytes);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TurnGateway>();
        services.AddSingleton<TurnPolicy>();
        services.AddSingleton<ModelCatalog>();
        services.AddExceptionHandler<OpenAiExceptionHandler>();
        return builder;
    }

    /// <summary>
    /// The middleware (request log → error envelope → operator authentication → client key) and every endpoint area, with the Orleans
    /// dashboard at <c>/dashboard</c> (admin key required, see <see cref="DashboardAccess"/>).
    /// </summary>
    public static WebApplication MapOpenAiApi(this WebApplication app)
    {
        app.UseSerilogRequestLogging(RequestLog.Configure);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Only reached if no IExceptionHandler answered; keeps ProblemDetails out of the pipeline.
            ExceptionHandler = context => OpenAiErrors.WriteAsync(context, OpenAiErrors.FromException(
                context.Features.Get<IExceptionHandlerFeature>()?.Error ?? new InvalidOperationException())),
        });
        app.UseStatusCodePages(context => OpenAiErrors.WriteAsync(context.HttpContext,
            OpenAiErrors.FromStatusCode(context.HttpContext.Response.StatusCode, context.HttpContext.Request.Method, context.HttpContext.Request.Path)));
        app.UseOrleansDashboardAccess();
        app.UseMiddleware<ApiKeyMiddleware>();

        app.MapHealthApi();
        app.MapModelsApi();
        app.MapResponsesApi();
        app.MapChatCompletionsApi();
        app.MapOrleansDashboardWithAccess();

        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (!auth.RequiresKey)
        {
            ApiLog.NoApiKey(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OrleansCodex.Api"),
                string.Join(", ", ListenAddresses.Configured(app.Configuration).DefaultIfEmpty(ListenAddresses.DefaultUrl)));
        }

        return app;
    }
}
