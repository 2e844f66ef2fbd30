using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace OrleansCodex.Silo.Dashboard;

/// <summary>
/// The Orleans dashboard at <c>/dashboard</c>, behind ASP.NET Core authentication: the admin key (<see cref="AdminKey"/>) as a bearer
/// token, or through a login form (<c>/admin/login</c>, anti-forgery protected, rate limited) that sets an HTTP-only, same-site
/// cookie. It shows grain state (the conversations' CLI sessions), so it is refused without the key, also on loopback; only a server
/// with no key at all serves it, and then to loopback connections alone.
/// </summary>
public static class DashboardAccess
{
    public const string Path = "/dashboard";
    public const string LoginPath = "/admin/login";
    public const string LogoutPath = "/admin/logout";
    public const string PolicyName = "OrleansCodex.Admin";

    private const string Scheme = "OrleansCodex.Admin";
    private const string CookieScheme = "OrleansCodex.AdminCookie";
    private const string BearerScheme = "OrleansCodex.AdminBearer";
    private const string LoginRateLimit = "OrleansCodex.AdminLogin";
    private const string AdminRole = "admin";

    /// <summary>Registers the admin key, the authentication schemes, the authorization policy and the login's rate limit.</summary>
    public static IHostApplicationBuilder AddOrleansDashboardAccess(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<AdminKey>();
        services.AddAntiforgery();
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Admin key", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? BearerScheme : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, AdminKeyAuthenticationHandler>(BearerScheme, null)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "orleanscodex_admin";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.LoginPath = LoginPath;
                o.LogoutPath = LogoutPath;
                o.AccessDeniedPath = LoginPath;
            });
        services.AddSingleton<IAuthorizationHandler, AdminAccessHandler>();
        services.AddAuthorizationBuilder().AddPolicy(PolicyName, policy => policy
            .AddAuthenticationSchemes(Scheme)
            .AddRequirements(new AdminAccessRequirement()));
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(LoginRateLimit, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = 10, Window = TimeSpan.FromMinutes(1) }));
        });
        return builder;
    }

    /// <summary>Authentication, authorization, anti-forgery and rate limiting, in that order (before the endpoints).</summary>
    public static IApplicationBuilder UseOrleansDashboardAccess(this IApplicationBuilder app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Maps the dashboard (admin only) and the login and logout endpoints.</summary>
    public static IEndpointRouteBuilder MapOrleansDashboardWithAccess(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapOrleansDashboard(Path).RequireAuthorization(PolicyName);
        endpoints.MapGet(LoginPath, ShowLogin).AllowAnonymous();
        endpoints.MapPost(LoginPath, LogInAsync).AllowAnonymous().RequireRateLimiting(LoginRateLimit);
        endpoints.MapPost(LogoutPath, LogOutAsync).AllowAnonymous();
        return endpoints;
    }

    private static IResult ShowLogin(HttpContext context, [FromServices] IAntiforgery antiforgery, [FromServices] AdminKey adminKey, [FromQuery] string? returnUrl) =>
        LoginPage(context, antiforgery, adminKey, returnUrl, error: null, StatusCodes.Status200OK);

    private static async Task<IResult> LogInAsync(
        HttpContext context, [FromServices] IAntiforgery antiforgery, [FromServices] AdminKey adminKey, [FromForm(Name = "key")] string? candidate, [FromForm] string? returnUrl)
    {
        if (!adminKey.Matches(candidate))
        {
            return LoginPage(context, antiforgery, adminKey, returnUrl, "That is not the admin key.", StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, AdminRole)], CookieScheme);
        await context.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
        return Results.Redirect(LocalOr(returnUrl, Path + "/"));
    }

    private static async Task<IResult> LogOutAsync(HttpContext context, [FromServices] IAntiforgery antiforgery)
    {
        // A missing or foreign token is the caller's error: ValidateRequestAsync would throw, and the exception handler answer 500.
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Results.BadRequest();
        }

        await context.SignOutAsync(CookieScheme);
        return Results.Redirect(LoginPath);
    }

    private static IResult LoginPage(HttpContext context, IAntiforgery antiforgery, AdminKey key, string? returnUrl, string? error, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var html = HtmlEncoder.Default;
        var message = key.IsConfigured
            ? error is null ? "" : $"<p class=\"error\" role=\"alert\">{html.Encode(error)}</p>"
            : "<p class=\"error\" role=\"alert\">No admin key is configured (Auth:AdminKey or Auth:ApiKey / PROXY_API_KEY): the dashboard is served to this machine's loopback address only.</p>";
        var page = $$"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>OrleansCodex · sign in</title>
            <style>
              body { font-family: system-ui, sans-serif; background: #f4f5f7; display: grid; place-items: center; min-height: 100vh; margin: 0; }
              form { background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); width: 22rem; }
              h1 { font-size: 1.25rem; margin-top: 0; } label { display: block; margin-bottom: .5rem; }
              input[type=password] { width: 100%; padding: .5rem; box-sizing: border-box; margin-bottom: 1rem; }
              button { padding: .5rem 1.25rem; } .error { color: #b00020; }
            </style></head>
            <body><form method="post" action="{{LoginPath}}">
              <h1>OrleansCodex operator sign-in</h1>
              {{message}}
              <label for="key">Admin key</label>
              <input id="key" name="key" type="password" autocomplete="current-password" autofocus required>
              <input type="hidden" name="{{html.Encode(tokens.FormFieldName)}}" value="{{html.Encode(tokens.RequestToken ?? "")}}">
              <input type="hidden" name="returnUrl" value="{{html.Encode(LocalOr(returnUrl, Path + "/"))}}">
              <button type="submit">Sign in</button>
            </form></body></html>
            """;
        return Results.Content(page, "text/html; charset=utf-8", statusCode: status);
    }

    /// <summary>Only a path on this server (no scheme, no host, no <c>//</c>): never an open redirect.</summary>
    private static string LocalOr(string? url, string fallback) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : fallback;

    /// <summary>The admin, or, when no key is configured at all, a loopback connection.</summary>
    private sealed class AdminAccessRequirement : IAuthorizationRequirement;

    private sealed class AdminAccessHandler(AdminKey key) : AuthorizationHandler<AdminAccessRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminAccessRequirement requirement)
        {
            if (context.User.IsInRole(AdminRole)
                || (!key.IsConfigured && context.Resource is HttpContext http && http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote)))
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }

    /// <summary><c>Authorization: Bearer &lt;admin key&gt;</c>.</summary>
    private sealed class AdminKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AdminKey key)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var header = Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            if (!key.Matches(header["Bearer ".Length..].Trim()))
            {
                return Task.FromResult(AuthenticateResult.Fail("The bearer token is not the admin key."));
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, AdminRole)], BearerScheme);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), BearerScheme)));
        }
    }
}
