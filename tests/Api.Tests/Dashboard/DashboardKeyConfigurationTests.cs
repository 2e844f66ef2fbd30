using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OrleansCodex.Api.Tests.TestDoubles;
using OrleansCodex.Testing.Service;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// Which key guards the dashboard when no separate admin key is set: the clients' key, or, with no key at all, nothing but the
/// connection's loopback address. Also the Silo executable, which serves the dashboard without the OpenAI front end.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardKeyConfigurationTests(DashboardFixture fixture)
{
    private const string OnlyKey = "sk-orleanscodex-only-key-8e21f7";

    private readonly CancellationToken _timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token;

    [Fact]
    public async Task Dashboard_OnlyTheApiKeyConfigured_TheApiKeyIsTheAdminKey()
    {
        await using var service = await fixture.StartAsync(apiKey: OnlyKey);
        using var anonymous = new OperatorClient(service.BaseUri);
        using var operatorClient = new OperatorClient(service.BaseUri);

        using var refused = await anonymous.Http.GetAsync("dashboard/DashboardCounters", _timeout);
        var counters = await DashboardFixture.WaitForActiveSiloAsync(service, OnlyKey, _timeout);
        await operatorClient.LogInAsync(OnlyKey);
        using var withCookie = await operatorClient.Http.GetAsync("dashboard/DashboardCounters", _timeout);

        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Equal("Active", Assert.Single(counters.GetProperty("hosts").EnumerateArray()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
    }

    /// <summary>
    /// <c>PROXY_API_KEY</c> given as a setting rather than an environment variable (here on the command line) is the API's key; it
    /// must guard the dashboard as well, not leave it open to loopback as if no key were set.
    /// </summary>
    [Fact]
    public async Task Dashboard_ProxyApiKeyAsACommandLineSetting_IsTheAdminKeyToo()
    {
        await using var service = await fixture.StartAsync(apiKey: null, ["--PROXY_API_KEY", OnlyKey]);
        using var anonymous = new OperatorClient(service.BaseUri);
        using var withKey = service.CreateHttpClient(OnlyKey);

        using var api = await anonymous.Http.GetAsync("v1/models", _timeout);
        using var dashboard = await anonymous.Http.GetAsync("dashboard/DashboardCounters", _timeout);
        var counters = await DashboardFixture.WaitForActiveSiloAsync(withKey, _timeout);

        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, dashboard.StatusCode);
        Assert.Single(counters.GetProperty("hosts").EnumerateArray());
    }

    [Fact]
    public async Task Dashboard_NoKeyConfigured_IsServedToLoopbackConnectionsWithoutLogin()
    {
        await using var service = await fixture.StartAsync(apiKey: null);
        using var local = new OperatorClient(service.BaseUri);

        using var page = await local.Http.GetAsync("dashboard/", _timeout);
        var counters = await DashboardFixture.WaitForActiveSiloAsync(local.Http, _timeout);
        var loginPage = await local.GetLoginFormAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("Active", Assert.Single(counters.GetProperty("hosts").EnumerateArray()).GetProperty("status").GetString());
        // The login page says why there is nothing to log in with.
        Assert.Contains("No admin key is configured", loginPage);
    }

    /// <summary>
    /// A keyless service refuses to listen beyond loopback (unless told to accept the risk), so a remote client is simulated in the
    /// in-memory host: the connection's remote address is set before the pipeline runs.
    /// </summary>
    [Theory]
    [InlineData("192.0.2.10")]
    [InlineData("10.1.2.3")]
    [InlineData("::ffff:192.0.2.10")]
    public async Task Dashboard_NoKeyConfiguredAndARemoteConnection_IsRefused(string remoteAddress)
    {
        await using var factory = new ApiFactory();
        factory.Settings["Auth:ApiKey"] = "";
        await using var remote = factory.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<IStartupFilter>(new RemoteAddressFilter(IPAddress.Parse(remoteAddress)))));
        await using var local = factory.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<IStartupFilter>(new RemoteAddressFilter(IPAddress.Loopback))));
        using var remoteHttp = remote.CreateClient(new() { AllowAutoRedirect = false });
        using var localHttp = local.CreateClient(new() { AllowAutoRedirect = false });

        using var fromRemote = await remoteHttp.GetAsync("dashboard/index.html", _timeout);
        using var remoteScript = await remoteHttp.SendAsync(new HttpRequestMessage(HttpMethod.Get, "dashboard/DashboardCounters") { Headers = { { "X-Requested-With", "XMLHttpRequest" } } }, _timeout);
        using var fromLoopback = await localHttp.GetAsync("dashboard/index.html", _timeout);

        Assert.Equal(HttpStatusCode.Redirect, fromRemote.StatusCode);
        Assert.Equal("/admin/login", new Uri(remoteHttp.BaseAddress!, fromRemote.Headers.Location!).AbsolutePath);
        Assert.Equal(HttpStatusCode.Unauthorized, remoteScript.StatusCode);
        // The same in-memory host serves the page to a loopback connection: the address alone made the difference.
        Assert.Equal(HttpStatusCode.OK, fromLoopback.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await fromLoopback.Content.ReadAsStringAsync(_timeout));
    }

    [Fact]
    public async Task SiloExecutable_Dashboard_IsGuardedByTheKeyAndShowsItsSilo()
    {
        await using var silo = await fixture.StartAsync(OnlyKey, options: new ServiceStartOptions { Executable = ServiceExecutable.Silo });
        using var anonymous = new OperatorClient(silo.BaseUri);
        using var wrong = silo.CreateHttpClient("sk-wrong");

        using var refused = await anonymous.Http.GetAsync("dashboard/", _timeout);
        using var wrongBearer = await wrong.GetAsync("dashboard/DashboardCounters", _timeout);
        var counters = await DashboardFixture.WaitForActiveSiloAsync(silo, OnlyKey, _timeout);
        await anonymous.LogInAsync(OnlyKey);
        using var afterLogin = await anonymous.Http.GetAsync("dashboard/", _timeout);

        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Equal("/admin/login", new Uri(silo.BaseUri, refused.Headers.Location!).AbsolutePath);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongBearer.StatusCode);
        var host = Assert.Single(counters.GetProperty("hosts").EnumerateArray());
        Assert.Equal("Active", host.GetProperty("status").GetString());
        Assert.Equal("OrleansCodex.Silo", host.GetProperty("roleName").GetString());
        Assert.Equal(HttpStatusCode.OK, afterLogin.StatusCode);
    }

    /// <summary>Gives every request of the in-memory host the connection address of a client elsewhere (or of loopback).</summary>
    private sealed class RemoteAddressFilter(IPAddress address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
