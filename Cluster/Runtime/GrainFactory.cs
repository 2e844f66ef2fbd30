using OrleansCodex.Cluster.Routing;

namespace OrleansCodex.Cluster.Runtime;

/// <summary>Creates typed references; the interface analysis is cached by the registry, so a reference costs one small object.</summary>
internal sealed class GrainFactory(GrainTypeRegistry registry, IGrainCallRouter router) : IGrainFactory
{
    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        var grainInterface = registry.GetInterface(typeof(TGrainInterface));
        var grainId = new GrainId(grainInterface.GrainClass.GrainType, primaryKey);
        return (TGrainInterface)GrainReferenceProxy.Create(grainInterface, grainId, router);
    }
}
