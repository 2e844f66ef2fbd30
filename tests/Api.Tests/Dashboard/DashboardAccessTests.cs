using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// Who may open <c>/dashboard</c> on a running service whose operator key (<c>Auth:AdminKey</c>) differs from the clients' key: the
/// page and every data endpoint behind it, without credentials, with a wrong or the clients' bearer token, and with the admin key.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardAccessTests(DashboardFixture fixture)
{
    /// <summary>Endpoints of the dashboard that return cluster or grain data (GrainState reads a grain's stored state).</summary>
    public static TheoryData<string> DataEndpoints => new()
    {
        "dashboard/DashboardCounters",
        "dashboard/ClusterStats",
        "dashboard/TopGrainMethods",
        "dashboard/GrainTypes",
        $"dashboard/GrainStats/{DashboardFixture.ConversationGrainType}",
        $"dashboard/GrainState?grainId=resp_x&grainType={DashboardFixture.ConversationGrainType}",
        "dashboard/SiloProperties/127.0.0.1:11111@1",
        "dashboard/Reminders",
        "dashboard/index.min.js",
    };

    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Dashboard_BrowserWithoutCredentials_IsRedirectedToTheLoginFormThatReturnsThere()
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);

        using var response = await client.Http.GetAsync("dashboard/", _timeout);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = new Uri(fixture.Service.BaseUri, response.Headers.Location!);
        Assert.Equal("/admin/login", location.AbsolutePath);
        var form = await client.Http.GetStringAsync(location, _timeout);
        Assert.Contains("<form method=\"post\" action=\"/admin/login\">", form);
        Assert.Equal("/dashboard/", OperatorClient.ReturnUrlOf(form));
    }

    [Theory]
    [MemberData(nameof(DataEndpoints))]
    public async Task Dashboard_DataEndpointWithoutCredentials_IsRefused(string endpoint)
    {
        using var client = new OperatorClient(fixture.Service.BaseUri);

        using var navigation = await client.Http.GetAsync(endpoint, _timeout);
        using var script = await client.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, endpoint) { Headers = { { "X-Requested-With", "XMLHttpRequest" } } }, _timeout);

        // A page load is sent to the login form, a script's request gets 401 (the API's error envelope); neither carries the data.
        Assert.Equal(HttpStatusCode.Redirect, navigation.StatusCode);
        Assert.Equal("/admin/login", new Uri(fixture.Service.BaseUri, navigation.Headers.Location!).AbsolutePath);
        Assert.Empty(await navigation.Content.ReadAsByteArrayAsync(_timeout));
        Assert.Equal(HttpStatusCode.Unauthorized, script.StatusCode);
        var refusal = await script.Content.ReadAsStringAsync(_timeout);
        Assert.StartsWith("{\"error\":", refusal);
        Assert.DoesNotContain("siloAddress", refusal);
        Assert.DoesNotContain("Orleans", refusal);
    }

    [Theory]
    [InlineData("dashboard/")]
    [InlineData("dashboard/DashboardCounters")]
    [InlineData("dashboard/GrainTypes")]
    public async Task Dashboard_WrongBearerToken_Is401(string endpoint)
    {
        using var http = fixture.Service.CreateHttpClient("sk-not-the-admin-key");

        using var response = await http.GetAsync(endpoint, _timeout);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.DoesNotContain("siloAddress", await response.Content.ReadAsStringAsync(_timeout));
    }

    [Fact]
    public async Task Dashboard_AdminKeyAsBearer_ServesThePageAndLiveDataOfTheSiloAndTheConversationGrain()
    {
        await fixture.RunTurnAsync("dashboard-bearer-probe", _timeout);
        using var http = fixture.Service.CreateHttpClient(DashboardFixture.AdminKey);

        var page = await http.GetStringAsync("dashboard/", _timeout);
        var counters = await DashboardFixture.WaitForActiveSiloAsync(fixture.Service, DashboardFixture.AdminKey, _timeout);
        var conversation = await DashboardFixture.WaitForConversationCallsAsync(fixture.Service, DashboardFixture.AdminKey, _timeout);
        var grainTypes = await http.GetFromJsonAsync<string[]>("dashboard/GrainTypes", _timeout);

        Assert.Contains("<title>Orleans Dashboard</title>", page);
        var silo = Assert.Single(counters.GetProperty("hosts").EnumerateArray());
        Assert.Equal("Active", silo.GetProperty("status").GetString());
        Assert.StartsWith("127.0.0.1:", silo.GetProperty("siloAddress").GetString());
        Assert.Equal(1, counters.GetProperty("totalActiveHostCount").GetInt32());
        Assert.True(conversation.GetProperty("activationCount").GetInt32() >= 1, conversation.ToString());
        Assert.Equal(silo.GetProperty("siloAddress").GetString(), conversation.GetProperty("siloAddress").GetString());
        Assert.Contains(DashboardFixture.ConversationGrainType, grainTypes!);
    }

    [Fact]
    public async Task Dashboard_AdminKeyAsBearerWithoutTrailingSlash_IsRedirectedToTheDashboard()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = fixture.Service.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DashboardFixture.AdminKey);

        using var response = await http.GetAsync("dashboard", _timeout);

        Assert.True(response.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.Redirect, response.StatusCode.ToString());
        Assert.Equal("/dashboard/", new Uri(fixture.Service.BaseUri, response.Headers.Location!).AbsolutePath);
    }

    [Fact]
    public async Task Dashboard_ClientApiKeyAsBearer_IsRefusedWhileItStillOpensTheApi()
    {
        using var client = fixture.Service.CreateHttpClient(DashboardFixture.ClientKey);
        using var admin = fixture.Service.CreateHttpClient(DashboardFixture.AdminKey);

        using var dashboardWithClientKey = await client.GetAsync("dashboard/DashboardCounters", _timeout);
        using var apiWithClientKey = await client.GetAsync("v1/models", _timeout);
        using var dashboardWithAdminKey = await admin.GetAsync("dashboard/DashboardCounters", _timeout);
        using var apiWithAdminKey = await admin.GetAsync("v1/models", _timeout);

        // Two keys, two doors: the clients' key is no operator key, and the operator key is no client key.
        Assert.Equal(HttpStatusCode.Unauthorized, dashboardWithClientKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, apiWithClientKey.StatusCode);
        Assert.Equal(HttpStatusCode.OK, dashboardWithAdminKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, apiWithAdminKey.StatusCode);
    }

    [Fact]
    public async Task Health_Dashboard_NamesWhereTheDashboardIs()
    {
        using var http = fixture.Service.CreateHttpClient();

        var health = await http.GetFromJsonAsync<JsonElement>("health", _timeout);

        Assert.Equal("/dashboard", health.GetProperty("dashboard").GetString());
    }
}
