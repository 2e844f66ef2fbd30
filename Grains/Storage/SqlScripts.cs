using System.Reflection;

namespace OrleansCodex.Grains.Storage;

/// <summary>Reads SQL kept as embedded <c>.sql</c> resources next to the code that runs it.</summary>
public static class SqlScripts
{
    /// <summary>The text of an embedded resource; throws naming the resource and what exists when it is missing.</summary>
    public static string Read(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException(
                $"Embedded SQL resource '{resourceName}' is missing from {assembly.GetName().Name}; it has: {string.Join(", ", assembly.GetManifestResourceNames())}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
