using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCodex.Api.Errors;
using OrleansCodex.Api.Json;
using OrleansCodex.Api.Turns;

namespace OrleansCodex.Api.Models;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c> from the configured catalog.</summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/models").WithTags("Models");
        api.MapGet("", ListModels);
        api.MapGet("/{model}", GetModel);
        return app;
    }

    public static JsonHttpResult<ModelList> ListModels(ModelCatalog catalog) => TypedResults.Json(new ModelList(catalog.All), OpenAiJsonContext.Default.ModelList);

    public static JsonHttpResult<ModelObject> GetModel(string model, ModelCatalog catalog) =>
        TypedResults.Json(
            catalog.Find(model) ?? throw OpenAiException.NotFound($"The model '{TurnValidation.Truncate(model)}' does not exist.", "model", "model_not_found"),
            OpenAiJsonContext.Default.ModelObject);
}
