using System.Runtime.InteropServices;
using OrleansCodex.Grains.Conversations;

namespace OrleansCodex.Grains.Providers;

/// <summary>The executable to run for a provider, or why there is none.</summary>
/// <param name="Path">The absolute path of the native binary; null when not found.</param>
/// <param name="Problem">What is wrong and how to fix it, when <paramref name="Path"/> is null.</param>
public sealed record CliExecutable(string? Path, string? Problem)
{
    public bool Found => Path is not null;
}

/// <summary>
/// Finds the native CLI binaries. Only native binaries are returned: Codex's npm launcher (<c>bin/codex.js</c>) cannot
/// <c>execve</c> on Node 20, stays alive as the parent, and killing it orphans the real Codex, which carries on with the turn.
/// </summary>
public static class CliExecutableLocator
{
    private const long ClaudePlaceholderMaxBytes = 1024 * 1024;

    public static string InstallHint(CliProvider provider) => provider == CliProvider.Codex
        ? "Install it: cd tools && npm ci (or set Cli:CodexPath / CODEX_PATH)."
        : "Install it: cd tools && npm ci (or set Cli:ClaudePath / CLAUDE_PATH).";

    public static CliExecutable Resolve(CliProvider provider, string? configuredPath) =>
        provider == CliProvider.Codex ? ResolveCodex(configuredPath) : ResolveClaude(configuredPath);

    public static CliExecutable ResolveCodex(string? configuredPath)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            var configured = FindConfigured(configuredPath);
            if (configured is null)
            {
                return new(null, $"Codex CLI not found at '{configuredPath}'. {InstallHint(CliProvider.Codex)}");
            }

            return NativeCodex(configured) is { } native
                ? new(native, null)
                : new(null, $"'{configuredPath}' is Codex's npm launcher but its native binary ({CodexPackage}) is not installed next to it. {InstallHint(CliProvider.Codex)}");
        }

        foreach (var root in SearchRoots())
        {
            foreach (var modules in new[] { Path.Combine(root, "tools", "node_modules"), Path.Combine(root, "node_modules") })
            {
                if (CodexInNodeModules(modules) is { } found)
                {
                    return new(found, null);
                }
            }
        }

        if (FindOnPath("codex") is { } onPath && NativeCodex(onPath) is { } nativeOnPath)
        {
            return new(nativeOnPath, null);
        }

        return new(null, $"Codex CLI not found (looked in tools/node_modules above {Directory.GetCurrentDirectory()} and {AppContext.BaseDirectory}, and on PATH). {InstallHint(CliProvider.Codex)}");
    }

    public static CliExecutable ResolveClaude(string? configuredPath)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            var configured = FindConfigured(configuredPath);
            if (configured is null)
            {
                return new(null, $"Claude Code CLI not found at '{configuredPath}'. {InstallHint(CliProvider.Claude)}");
            }

            return NativeClaude(configured) is { } native
                ? new(native, null)
                : new(null, $"'{configuredPath}' is Claude Code's placeholder script: its postinstall did not run. Run `node node_modules/@anthropic-ai/claude-code/install.cjs` in tools/, or set Cli:ClaudePath to the native binary.");
        }

        foreach (var root in SearchRoots())
        {
            foreach (var modules in new[] { Path.Combine(root, "tools", "node_modules"), Path.Combine(root, "node_modules") })
            {
                var launcher = Path.Combine(modules, "@anthropic-ai", "claude-code", "bin", "claude.exe");
                if (File.Exists(launcher) && NativeClaude(launcher) is { } found)
                {
                    return new(found, null);
                }
            }
        }

        if (FindOnPath("claude") is { } onPath && NativeClaude(onPath) is { } nativeOnPath)
        {
            return new(nativeOnPath, null);
        }

        return new(null, $"Claude Code CLI not found (looked in tools/node_modules above {Directory.GetCurrentDirectory()} and {AppContext.BaseDirectory}, and on PATH). {InstallHint(CliProvider.Claude)}");
    }

    private static string CodexPackage => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "codex-linux-arm64" : "codex-linux-x64";

    private static string CodexTriple => RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "aarch64-unknown-linux-musl" : "x86_64-unknown-linux-musl";

    private static string? CodexInNodeModules(string nodeModules)
    {
        string[] candidates =
        [
            Path.Combine(nodeModules, "@openai", CodexPackage, "vendor", CodexTriple, "bin", "codex"),
            Path.Combine(nodeModules, "@openai", "codex", "node_modules", "@openai", CodexPackage, "vendor", CodexTriple, "bin", "codex"),
            Path.Combine(nodeModules, "@openai", "codex", "vendor", CodexTriple, "codex", "codex"),
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>The native binary for a path that may be the npm launcher or a symlink to it (<c>node_modules/.bin/codex</c>).</summary>
    private static string? NativeCodex(string path)
    {
        var real = RealPath(path);
        if (!real.EndsWith(".js", StringComparison.Ordinal))
        {
            return real;
        }

        // .../node_modules/@openai/codex/bin/codex.js → the platform package is installed beside @openai/codex or inside it.
        var packageRoot = Path.GetDirectoryName(Path.GetDirectoryName(real));
        var scope = packageRoot is null ? null : Path.GetDirectoryName(packageRoot);
        var nodeModules = scope is null ? null : Path.GetDirectoryName(scope);
        return nodeModules is null ? null : CodexInNodeModules(nodeModules);
    }

    /// <summary>The native Claude binary for <paramref name="path"/>: itself unless it is the ~500-byte placeholder left when the postinstall was skipped.</summary>
    private static string? NativeClaude(string path)
    {
        var real = RealPath(path);
        if (new FileInfo(real).Length >= ClaudePlaceholderMaxBytes)
        {
            return real;
        }

        // .../node_modules/@anthropic-ai/claude-code/bin/claude.exe → .../node_modules/@anthropic-ai/claude-code-linux-x64/claude
        var scope = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(real)));
        var platform = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "claude-code-linux-arm64" : "claude-code-linux-x64";
        var native = scope is null ? null : Path.Combine(scope, platform, "claude");
        return native is not null && File.Exists(native) && new FileInfo(native).Length >= ClaudePlaceholderMaxBytes ? native : null;
    }

    private static string? FindConfigured(string configured)
    {
        if (!configured.Contains('/'))
        {
            return FindOnPath(configured);
        }

        var full = Path.GetFullPath(configured);
        return File.Exists(full) ? full : null;
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    private static string RealPath(string path)
    {
        try
        {
            return File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException)
        {
            return path;
        }
    }

    private static IEnumerable<string> SearchRoots()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (seen.Add(directory.FullName))
                {
                    yield return directory.FullName;
                }
            }
        }
    }
}
