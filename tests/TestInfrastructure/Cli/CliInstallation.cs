using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OrleansCodex.Testing.Cli;

/// <summary>
/// Finds the repository and the CLIs that <c>tools/package-lock.json</c> pins. Tests run the real CLIs, so a missing install
/// fails loudly with the command that fixes it; it never skips.
/// </summary>
public static class CliInstallation
{
    public const string InstallHint = "Install the pinned CLIs first: `cd tools && npm ci` (or run tools/install-clis.sh).";

    private static readonly Lazy<string> RepoRootLazy = new(FindRepoRoot);

    /// <summary>The folder holding <c>OrleansCodex.sln</c>, found by walking up from the test assembly.</summary>
    public static string RepoRoot => RepoRootLazy.Value;

    /// <summary>The native Codex binary (never the npm launcher: killing the launcher orphans the real process).</summary>
    public static string CodexPath
    {
        get
        {
            var (package, triple) = RuntimeInformation.OSArchitecture == Architecture.Arm64
                ? ("codex-linux-arm64", "aarch64-unknown-linux-musl")
                : ("codex-linux-x64", "x86_64-unknown-linux-musl");
            return Require(Path.Combine(RepoRoot, "tools", "node_modules", "@openai", package, "vendor", triple, "bin", "codex"), "Codex");
        }
    }

    /// <summary>The native Claude Code binary (<c>bin/claude.exe</c> is a hard link to it once the postinstall ran).</summary>
    public static string ClaudePath
    {
        get
        {
            var path = Require(Path.Combine(RepoRoot, "tools", "node_modules", "@anthropic-ai", "claude-code", "bin", "claude.exe"), "Claude Code");
            if (new FileInfo(path).Length < 1024 * 1024)
            {
                throw new InvalidOperationException(
                    $"{path} is the placeholder script, not the native Claude Code binary: its postinstall did not run. "
                    + "Run `cd tools && node node_modules/@anthropic-ai/claude-code/install.cjs` (tools/install-clis.sh does it).");
            }

            return path;
        }
    }

    private static string Require(string path, string name) =>
        File.Exists(path)
            ? path
            : throw new InvalidOperationException($"The {name} CLI is not installed at {path}. {InstallHint}");

    private static string FindRepoRoot()
    {
        // Builds with --artifacts-path put the test assembly outside the repository, so also try the working directory and the
        // folder this source file was compiled from.
        var starts = new[] { System.Environment.GetEnvironmentVariable("ORLEANSCODEX_REPO_ROOT"), AppContext.BaseDirectory, Directory.GetCurrentDirectory(), SourceDirectory() };
        foreach (var start in starts)
        {
            for (var directory = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "OrleansCodex.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException(
            $"Could not find OrleansCodex.sln above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}; run the tests from inside the "
            + "repository or set ORLEANSCODEX_REPO_ROOT.");
    }

    private static string? SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path);
}
