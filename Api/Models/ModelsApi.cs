using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCodex.Api.Json;

namespace OrleansCodex.Api.Models;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> from the catalog.</summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/models").WithTags("Models");
        api.MapGet("", ListModels);
        api.MapGet("/{model}", GetModel);
        return app;
    }

    public static async Task<JsonHttpResult<ModelList>> ListModels(ModelCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Json(new ModelList(await catalog.GetAllAsync(cancellationToken)), OpenAiJsonContext.Default.ModelList);

    public static async Task<JsonHttpResult<ModelObject>> GetModel(string model, ModelCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Json(await catalog.FindAsync(model, cancellationToken) ?? throw ModelCatalog.NotFound(model), OpenAiJsonContext.Default.ModelObject);
}
