using System.Net;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// The operator's login form at <c>/admin/login</c> and the session cookie it sets, on a running service whose admin key differs from
/// the clients' key: wrong and right keys, the anti-forgery token, the return address, the rate limit and the logout.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardLoginTests(DashboardFixture fixture)
{
    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Login_WrongKey_Answers401WithTheFormAgainAndSetsNoSession()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        var token = OperatorClient.TokenOf(await client.GetLoginFormAsync());

        using var response = await client.PostLoginAsync("sk-a-guess", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var page = await response.Content.ReadAsStringAsync(_timeout);
        Assert.Contains("That is not the admin key.", page);
        Assert.Contains("name=\"key\"", page);
        Assert.DoesNotContain(SetCookies(response), c => c.StartsWith(OperatorClient.AdminCookieName + "=", StringComparison.Ordinal));
        Assert.Null(client.AdminCookie);
        using var dashboard = await client.Http.GetAsync("dashboard/DashboardCounters", _timeout);
        Assert.Equal(HttpStatusCode.Redirect, dashboard.StatusCode);
    }

    [Fact]
    public async Task Login_ClientApiKey_IsNotTheAdminKey()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        var token = OperatorClient.TokenOf(await client.GetLoginFormAsync());

        using var response = await client.PostLoginAsync(DashboardFixture.ClientKey, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(client.AdminCookie);
    }

    [Fact]
    public async Task Login_AdminKey_SetsAnHttpOnlySameSiteStrictSessionCookieAndRedirectsToTheDashboard()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        var token = OperatorClient.TokenOf(await client.GetLoginFormAsync());

        using var response = await client.PostLoginAsync(DashboardFixture.AdminKey, token, "/dashboard/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard/", response.Headers.Location!.OriginalString);
        var cookie = Assert.Single(SetCookies(response), c => c.StartsWith(OperatorClient.AdminCookieName + "=", StringComparison.Ordinal));
        var attributes = cookie.Split(';', StringSplitOptions.TrimEntries).Skip(1).Select(a => a.ToLowerInvariant()).ToList();
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=strict", attributes);
        Assert.Contains("path=/", attributes);
        Assert.DoesNotContain(DashboardFixture.AdminKey, cookie);

        // The cookie alone (no bearer token) now opens the page and its data.
        using var page = await client.Http.GetAsync("dashboard/", _timeout);
        using var counters = await client.Http.GetAsync("dashboard/DashboardCounters", _timeout);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
        Assert.Contains("\"siloAddress\"", await counters.Content.ReadAsStringAsync(_timeout));
    }

    [Fact]
    public async Task Login_WithoutTheAntiforgeryToken_IsRefusedAndSetsNoSession()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        await client.GetLoginFormAsync();
        using var stranger = new OperatorClient(fixture.Service.BaseUri);
        var tokenOfAnotherBrowser = OperatorClient.TokenOf(await stranger.GetLoginFormAsync());

        using var withoutToken = await client.PostLoginAsync(DashboardFixture.AdminKey, token: null);
        // A token that goes with another browser's anti-forgery cookie: what a cross-site form post could at best replay.
        using var withForeignToken = await client.PostLoginAsync(DashboardFixture.AdminKey, tokenOfAnotherBrowser);

        Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, withForeignToken.StatusCode);
        Assert.Null(client.AdminCookie);
        Assert.DoesNotContain(SetCookies(withoutToken).Concat(SetCookies(withForeignToken)),
            c => c.StartsWith(OperatorClient.AdminCookieName + "=", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://evil.example/steal")]
    [InlineData("//evil.example/steal")]
    [InlineData("/\\evil.example/steal")]
    [InlineData("http:evil.example")]
    [InlineData("javascript:alert(1)")]
    public async Task Login_ReturnUrlOffThisServer_IsIgnored(string returnUrl)
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        var form = await client.GetLoginFormAsync(returnUrl);

        using var response = await client.PostLoginAsync(DashboardFixture.AdminKey, OperatorClient.TokenOf(form), returnUrl);

        Assert.Equal("/dashboard/", OperatorClient.ReturnUrlOf(form));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Login_ReturnUrlOnThisServer_IsWhereTheLoginLeads()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        var form = await client.GetLoginFormAsync("/dashboard/index.html");

        using var response = await client.PostLoginAsync(DashboardFixture.AdminKey, OperatorClient.TokenOf(form), OperatorClient.ReturnUrlOf(form));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard/index.html", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Login_MoreThanTenAttemptsAMinuteFromOneAddress_AreRejectedWith429ButOtherAddressesMayLogIn()
    {
        using var guesser = new OperatorClient(fixture.Service.BaseUri);
        var token = OperatorClient.TokenOf(await guesser.GetLoginFormAsync());
        var statuses = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < 10; attempt++)
        {
            using var wrong = await guesser.PostLoginAsync($"sk-guess-{attempt}", token);
            statuses.Add(wrong.StatusCode);
        }

        using var eleventh = await guesser.PostLoginAsync(DashboardFixture.AdminKey, token);
        using var operatorElsewhere = new OperatorClient(fixture.Service.BaseUri);
        await operatorElsewhere.LogInAsync(DashboardFixture.AdminKey);

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        // Even the right key is turned away once the address used up its attempts.
        Assert.Equal(HttpStatusCode.TooManyRequests, eleventh.StatusCode);
        Assert.Null(guesser.AdminCookie);
        Assert.NotNull(operatorElsewhere.AdminCookie);
    }

    [Fact]
    public async Task Logout_WithTheAntiforgeryToken_EndsTheSession()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        await client.LogInAsync(DashboardFixture.AdminKey);
        using var before = await client.Http.GetAsync("dashboard/DashboardCounters", _timeout);

        using var logout = await client.PostLogoutAsync(withToken: true);
        using var after = await client.Http.GetAsync("dashboard/DashboardCounters", _timeout);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        Assert.Equal("/admin/login", logout.Headers.Location!.OriginalString);
        Assert.Contains(SetCookies(logout), c => c.StartsWith(OperatorClient.AdminCookieName + "=;", StringComparison.Ordinal));
        Assert.Null(client.AdminCookie);
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Equal("/admin/login", new Uri(fixture.Service.BaseUri, after.Headers.Location!).AbsolutePath);
    }

    [Fact]
    public async Task Logout_WithoutTheAntiforgeryToken_IsRefusedWith400AndTheSessionGoesOn()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);
        await client.LogInAsync(DashboardFixture.AdminKey);

        // What a cross-site page could send: the session cookie is SameSite=Strict anyway, but the token is checked regardless.
        using var logout = await client.PostLogoutAsync(withToken: false);
        using var after = await client.Http.GetAsync("dashboard/DashboardCounters", _timeout);

        Assert.Equal(HttpStatusCode.BadRequest, logout.StatusCode);
        Assert.NotNull(client.AdminCookie);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    private static IEnumerable<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];
}
