using System.Diagnostics;
using System.Text;
using Microsoft.Playwright;
using OrleansCodex.Testing.Cli;
using OrleansCodex.Testing.Service;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, installed by <c>tools/install-browser.sh</c>), headless, driven by Playwright, with a
/// fresh profile of its own that is deleted afterwards. Playwright cannot download a browser here, so a missing Chromium fails the
/// test with the command that installs it. <see cref="CloseAsync"/> closes it and checks that none of its processes is left.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>
    /// The flags that work on this kind of machine as root: no sandbox (root), no GPU, and none of Chromium's own traffic to Google
    /// (the network is closed; without these it retries many refused connections at every start).
    /// </summary>
    private static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private bool _closed;

    private HeadlessChromium(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        ProfileDirectory = profile;
    }

    public IBrowserContext Context { get; }

    /// <summary>The fresh <c>--user-data-dir</c> of this browser.</summary>
    public string ProfileDirectory { get; }

    /// <summary>Where the tests leave their screenshots: <c>artifacts/screenshots/</c> of the repository (git-ignored).</summary>
    public static string ScreenshotDirectory => Directory.CreateDirectory(Path.Combine(CliInstallation.RepoRoot, "artifacts", "screenshots")).FullName;

    public static async Task<HeadlessChromium> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium is not installed ({ExecutablePath} is missing); the dashboard's browser tests drive Debian's Chromium and " +
                "Playwright cannot download one here. Run `tools/install-browser.sh` (it runs `apt-get install -y chromium`).");
        }

        var profile = Directory.CreateTempSubdirectory("orleanscodex-chromium-").FullName;
        var playwright = await Playwright.CreateAsync();
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Flags,
                Timeout = 60_000,
                ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
            });
            context.SetDefaultTimeout(20_000);
            Assertions.SetDefaultExpectTimeout(20_000);
            context.SetDefaultNavigationTimeout(30_000);
            return new HeadlessChromium(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    public async Task<IPage> NewPageAsync() => Context.Pages.Count == 1 && Context.Pages[0].Url == "about:blank" ? Context.Pages[0] : await Context.NewPageAsync();

    /// <summary>Saves a full-page screenshot under <see cref="ScreenshotDirectory"/>; returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    /// <summary>The browser's processes still running (found by the profile folder on their command line).</summary>
    public IReadOnlyList<int> RemainingProcesses()
    {
        var result = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(directory, "cmdline")));
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                if (commandLine.Contains(ProfileDirectory, StringComparison.Ordinal) && stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z')
                {
                    result.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return result;
    }

    /// <summary>Closes the browser and fails if any of its processes outlived it.</summary>
    public async Task CloseAsync()
    {
        var left = await ShutDownAsync();
        Assert.True(left.Count == 0, $"Chromium processes outlived the browser (killed now): {string.Join(", ", left)}");
    }

    public async ValueTask DisposeAsync() => await ShutDownAsync();

    /// <summary>Closes the browser and the Playwright driver, kills whatever is left of them, deletes the profile; returns what was left.</summary>
    private async Task<IReadOnlyList<int>> ShutDownAsync()
    {
        if (_closed)
        {
            return [];
        }

        _closed = true;
        try
        {
            await Context.CloseAsync();
        }
        finally
        {
            _playwright.Dispose();
        }

        var stopwatch = Stopwatch.StartNew();
        while (RemainingProcesses().Count > 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
        }

        var left = RemainingProcesses();
        foreach (var pid in left)
        {
            ProcessTree.Signal(pid, 9);
        }

        try
        {
            Directory.Delete(ProfileDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A process killed a moment ago may still be writing its profile; the folder is in the temp directory anyway.
        }

        return left;
    }
}
