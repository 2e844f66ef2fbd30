namespace OrleansCodex.Cluster;

/// <summary>Marker for grain interfaces. Methods return <see cref="Task"/>, <see cref="Task{T}"/> or <see cref="IAsyncEnumerable{T}"/>,
/// and may take a <see cref="CancellationToken"/> as their last parameter.</summary>
public interface IGrain;

/// <summary>A grain addressed by a string key, like Orleans' <c>IGrainWithStringKey</c>.</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>Creates references to grains. A reference is cheap; the grain is activated on its first call.</summary>
public interface IGrainFactory
{
    /// <summary>Returns a typed reference to the grain with the given key.</summary>
    TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey;
}
