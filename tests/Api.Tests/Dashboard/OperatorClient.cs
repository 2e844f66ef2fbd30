using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace OrleansCodex.Api.Tests.Dashboard;

/// <summary>
/// An operator's browser reduced to HTTP: a cookie jar, no automatic redirects (the tests look at each one), and its own loopback
/// source address (127.0.0.x). The login is rate limited per client address (10 a minute), so each client gets a fresh address and
/// tests sharing one service do not use up each other's attempts.
/// </summary>
internal sealed partial class OperatorClient : IDisposable
{
    public const string AdminCookieName = "orleanscodex_admin";

    private static int _lastAddress = 9;

    public OperatorClient(Uri baseUri, IPAddress? sourceAddress = null)
    {
        BaseUri = baseUri;
        SourceAddress = sourceAddress ?? NextLoopbackAddress();
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = true,
            CookieContainer = Cookies,
            ConnectCallback = ConnectFromSourceAddressAsync,
        };
        Http = new HttpClient(handler) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseUri { get; }

    /// <summary>The loopback address this client connects from (the server sees it as the remote address).</summary>
    public IPAddress SourceAddress { get; }

    public CookieContainer Cookies { get; } = new();

    public HttpClient Http { get; }

    /// <summary>The session cookie the login sets, if the jar holds one.</summary>
    public Cookie? AdminCookie => Cookies.GetCookies(BaseUri)[AdminCookieName];

    /// <summary>A fresh address in 127.0.0.10–127.0.0.250 (all of 127/8 is loopback on Linux).</summary>
    public static IPAddress NextLoopbackAddress() => IPAddress.Parse($"127.0.0.{10 + ((Interlocked.Increment(ref _lastAddress) - 10) % 240)}");

    /// <summary><c>GET /admin/login</c>: the form's HTML (and, in the jar, the anti-forgery cookie).</summary>
    public async Task<string> GetLoginFormAsync(string? returnUrl = null)
    {
        var path = returnUrl is null ? "admin/login" : $"admin/login?returnUrl={Uri.EscapeDataString(returnUrl)}";
        using var response = await Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The anti-forgery token of a login form's page.</summary>
    public static string TokenOf(string html)
    {
        var match = TokenField().Match(html);
        Assert.True(match.Success, $"No anti-forgery token in the page:\n{html}");
        return match.Groups[1].Value;
    }

    /// <summary>The hidden <c>returnUrl</c> field of a login form's page.</summary>
    public static string ReturnUrlOf(string html)
    {
        var match = ReturnUrlField().Match(html);
        Assert.True(match.Success, $"No returnUrl field in the page:\n{html}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary><c>POST /admin/login</c> as the form submits it; a null token leaves the token field out.</summary>
    public Task<HttpResponseMessage> PostLoginAsync(string key, string? token, string? returnUrl = null)
    {
        var fields = new List<KeyValuePair<string, string>> { new("key", key) };
        if (token is not null)
        {
            fields.Add(new("__RequestVerificationToken", token));
        }

        if (returnUrl is not null)
        {
            fields.Add(new("returnUrl", returnUrl));
        }

        return Http.PostAsync("admin/login", new FormUrlEncodedContent(fields));
    }

    /// <summary>Opens the form, submits the key and checks the redirect that follows a successful login.</summary>
    public async Task LogInAsync(string key)
    {
        var token = TokenOf(await GetLoginFormAsync());
        using var response = await PostLoginAsync(key, token);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.NotNull(AdminCookie);
    }

    /// <summary><c>POST /admin/logout</c>, with a token the login page gives the signed-in operator, or without one.</summary>
    public async Task<HttpResponseMessage> PostLogoutAsync(bool withToken)
    {
        var fields = new List<KeyValuePair<string, string>>();
        if (withToken)
        {
            fields.Add(new("__RequestVerificationToken", TokenOf(await GetLoginFormAsync())));
        }

        return await Http.PostAsync("admin/logout", new FormUrlEncodedContent(fields));
    }

    public void Dispose() => Http.Dispose();

    private async ValueTask<Stream> ConnectFromSourceAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(SourceAddress, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("name=\"returnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrlField();
}
