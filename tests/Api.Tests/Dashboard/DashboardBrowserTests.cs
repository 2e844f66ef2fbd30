using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// The dashboard as an operator sees it in a real browser (headless Chromium): the login form, then the Orleans dashboard's own pages
/// showing the running silo and the conversation grain that a client's turn created. Screenshots go to <c>artifacts/screenshots/</c>.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardFixture fixture)
{
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;

    [Fact]
    public async Task Dashboard_InChromium_LoginShowsTheSiloAndTheConversationGrainWithItsCalls()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        var page = await browser.NewPageAsync();
        // A client's turn first, so that a conversation grain exists and the dashboard has counted calls to it.
        await fixture.RunTurnAsync("dashboard-browser-probe", _timeout);
        await DashboardFixture.WaitForConversationCallsAsync(fixture.Service, DashboardFixture.AdminKey, _timeout);
        var silo = (await DashboardFixture.WaitForActiveSiloAsync(fixture.Service, DashboardFixture.AdminKey, _timeout)).GetProperty("hosts")[0];
        var siloAddress = silo.GetProperty("siloAddress").GetString()!;
        var siloName = silo.GetProperty("siloName").GetString()!;
        var dashboard = new Uri(fixture.Service.BaseUri, "dashboard/").ToString();
        File.Delete(Path.Combine(HeadlessChromium.ScreenshotDirectory, "dashboard-failure.png"));

        try
        {
            // Not signed in: the dashboard sends the browser to the login form.
            await page.GotoAsync(dashboard);
            await page.WaitForURLAsync(new Regex("/admin/login\\?ReturnUrl=%2Fdashboard%2F$"));
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "OrleansCodex operator sign-in" })).ToBeVisibleAsync();
            await HeadlessChromium.ScreenshotAsync(page, "dashboard-login");

            await page.GetByLabel("Admin key").FillAsync(DashboardFixture.AdminKey);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await page.WaitForURLAsync(new Regex($"^{Regex.Escape(dashboard)}(#.*)?$"));

            // Overview: the cluster's counters, one active silo.
            await Assertions.Expect(page.Locator("#menu")).ToContainTextAsync("Grains");
            await Assertions.Expect(page.Locator("#content")).ToContainTextAsync("Total Activations");
            await Assertions.Expect(page.Locator("#content")).ToContainTextAsync(new Regex("Active Silos\\s*1\\s*More info"));
            await Assertions.Expect(page.Locator("#content")).ToContainTextAsync("Methods with Most Calls");
            await HeadlessChromium.ScreenshotAsync(page, "dashboard-overview");

            // Silos: this node's row in the health table, by its address and name, active.
            await page.Locator("#menu").GetByRole(AriaRole.Link, new() { Name = "Silos", Exact = true }).ClickAsync();
            var siloRow = page.Locator("#content tr")
                .Filter(new() { Has = page.GetByRole(AriaRole.Link, new() { Name = siloAddress, Exact = true }) })
                .Filter(new() { HasText = siloName });
            await Assertions.Expect(siloRow).ToBeVisibleAsync();
            await Assertions.Expect(siloRow).ToContainTextAsync("Active");
            await HeadlessChromium.ScreenshotAsync(page, "dashboard-silos");

            // Grains: the conversation grain type, activated, with calls.
            await page.Locator("#menu").GetByRole(AriaRole.Link, new() { Name = "Grains", Exact = true }).ClickAsync();
            var grainRow = page.Locator("#content tr").Filter(new() { Has = page.Locator($"td[title='{DashboardFixture.ConversationGrainType}']") });
            await Assertions.Expect(grainRow).ToBeVisibleAsync();
            await Assertions.Expect(grainRow.GetByRole(AriaRole.Link, new() { Name = "ConversationGrain", Exact = true })).ToBeVisibleAsync();
            var cells = grainRow.Locator("td");
            var activations = int.Parse(await cells.Nth(2).InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(activations >= 1, $"{activations} activation(s) of the conversation grain");
            await Assertions.Expect(cells.Nth(4)).Not.ToHaveTextAsync(new Regex("^\\s*0\\.00\\s*req/sec\\s*$"));
            await HeadlessChromium.ScreenshotAsync(page, "dashboard-grains");

            // The grain type's page: its methods, profiled.
            await grainRow.GetByRole(AriaRole.Link, new() { Name = "ConversationGrain", Exact = true }).ClickAsync();
            await page.WaitForURLAsync(new Regex($"#/grain/{Regex.Escape(DashboardFixture.ConversationGrainType)}$"));
            await Assertions.Expect(page.Locator("#content")).ToContainTextAsync(DashboardFixture.ConversationGrainType);
            await Assertions.Expect(page.Locator("#content")).ToContainTextAsync("Method Profiling");
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "ConversationGrain.Start", Exact = true })).ToBeVisibleAsync();
            await HeadlessChromium.ScreenshotAsync(page, "dashboard-conversation-grain");
        }
        catch (Exception e)
        {
            await HeadlessChromium.ScreenshotAsync(page, "dashboard-failure");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}, the page showed:\n{await page.Locator("body").InnerTextAsync()}", e);
        }

        await browser.CloseAsync();
    }

    [Fact]
    public async Task Dashboard_InChromiumWithoutLogin_ShowsNoGrainData()
    {
        await using var browser = await HeadlessChromium.LaunchAsync();
        var page = await browser.NewPageAsync();
        await fixture.RunTurnAsync("dashboard-anonymous-probe", _timeout);
        var counters = new Uri(fixture.Service.BaseUri, "dashboard/DashboardCounters").ToString();

        // Typed into the address bar: the data endpoint sends the browser to the login form.
        var navigation = await page.GotoAsync(counters);
        var shown = await page.Locator("body").InnerTextAsync();
        // Asked by a script of the dashboard's own origin, as the dashboard's page asks: refused.
        var scriptStatus = await page.EvaluateAsync<int>(
            "async url => (await fetch(url, { headers: { 'X-Requested-With': 'XMLHttpRequest' } })).status", counters);
        var scriptBody = await page.EvaluateAsync<string>("async url => await (await fetch(url)).text()", counters);
        // The dashboard's page itself, with its hash routes: the login form, never the grains table.
        await page.GotoAsync(new Uri(fixture.Service.BaseUri, "dashboard/#/grains").ToString());
        await page.WaitForURLAsync(new Regex("/admin/login"));
        var grainsShown = await page.Locator("body").InnerTextAsync();
        await HeadlessChromium.ScreenshotAsync(page, "dashboard-anonymous");

        Assert.Contains("/admin/login", navigation!.Url);
        Assert.Contains("OrleansCodex operator sign-in", shown);
        Assert.Equal(401, scriptStatus);
        Assert.Contains("OrleansCodex operator sign-in", scriptBody);
        Assert.DoesNotContain("ConversationGrain", shown + scriptBody + grainsShown);
        Assert.DoesNotContain("siloAddress", shown + scriptBody + grainsShown);
        Assert.Contains("OrleansCodex operator sign-in", grainsShown);
        await browser.CloseAsync();
    }
}
