using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Threading.RateLimiting;
using IncidentBot.Api;
using IncidentBot.Core.Security;
using IncidentBot.Core.Telemetry;
using IncidentBot.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static IncidentBot.Dashboard.Html;

namespace IncidentBot.Dashboard;

/// <summary>
/// Dashboard sessions: sign-in with one of <c>Api:Tokens</c> into a cookie that dies with its token and after
/// <c>Api:SessionLifetime</c>; forms protected by antiforgery tokens; attempts rate-limited per client.
/// </summary>
internal static partial class SignIn
{
    public const string SessionCookie = "incidentbot_session";

    /// <summary>Sign-in attempts one client may make per window, whatever their outcome.</summary>
    public const int AttemptsPerWindow = 10;

    public static readonly TimeSpan AttemptWindow = TimeSpan.FromMinutes(1);

    /// <summary>Body limit of the sign-in and sign-out forms: a token, a return path and an antiforgery token.</summary>
    public const long FormBodyLimit = 16 * 1024;

    private const string RateLimitPolicy = "signin";

    public static IHostApplicationBuilder AddDashboardSessions(this IHostApplicationBuilder builder)
    {
        builder.AddSharedDataProtection();
        builder.Services.AddAuthentication(AccessPolicy.CookieScheme).AddCookie(AccessPolicy.CookieScheme, cookie =>
        {
            cookie.Cookie.Name = SessionCookie;
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the request is HTTPS, including behind a TLS-terminating proxy listed in ForwardedHeaders.
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(12);
            cookie.SlidingExpiration = true;
            cookie.LoginPath = "/signin";
            cookie.Events.OnValidatePrincipal = context => context.HttpContext.RequestServices.GetRequiredService<AccessPolicy>().ValidateSessionAsync(context);
            // The dashboard decides what an anonymous browser sees; the API answers 401 itself.
            cookie.Events.OnRedirectToLogin = context =>
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
        });
        builder.Services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "incidentbot_antiforgery";
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            // Every response already says X-Frame-Options: DENY; antiforgery would weaken it to SAMEORIGIN.
            antiforgery.SuppressXFrameOptionsHeader = true;
        });
        builder.Services.TryAddSingleton<FailureLimiter>();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(RateLimitPolicy, http => RateLimitPartition.GetFixedWindowLimiter(Client(http), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = AttemptsPerWindow,
                Window = AttemptWindow,
                QueueLimit = 0,
            }));
            limiter.OnRejected = (context, _) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter.TotalSeconds : AttemptWindow.TotalSeconds;
                context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(seconds)).ToString(CultureInfo.InvariantCulture);
                Refused(context.HttpContext, "rate_limited");
                return ValueTask.CompletedTask;
            };
        });
        return builder;
    }

    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet("/signin", SignInForm);
        app.MapPost("/signin", SignInAsync).RequireRateLimiting(RateLimitPolicy).WithMetadata(new BodyLimit(FormBodyLimit));
        app.MapGet("/signout", SignOutForm);
        app.MapPost("/signout", SignOutAsync).WithMetadata(new BodyLimit(FormBodyLimit));
        return app;
    }

    /// <summary>
    /// True for a path on this site: starts with one <c>/</c>, no <c>//</c> or <c>/\</c> after it, no backslash or
    /// control character anywhere (browsers drop tabs and read <c>\</c> as <c>/</c>, turning <c>/\t/evil</c> into <c>//evil</c>).
    /// </summary>
    public static bool IsLocalUrl([NotNullWhen(true)] string? url) =>
        url is ['/', ..] && (url.Length == 1 || url[1] is not ('/' or '\\')) && !url.Any(c => c == '\\' || char.IsControl(c));

    /// <summary><paramref name="url"/> when it is local, otherwise the dashboard's home; used for every redirect the dashboard makes.</summary>
    public static string LocalOrHome(string? url) => IsLocalUrl(url) ? url : "/";

    private static IResult SignInForm(HttpContext http, AccessPolicy access, IAntiforgery antiforgery, string? returnUrl, string? failed)
    {
        if (!access.TokensConfigured)
        {
            return Results.Content(
                Page("Sign in", "<h1>Sign in</h1><p>No access tokens are configured, so the dashboard answers only on this machine (loopback). Configure <code>Api:Tokens</code> to open it to others.</p>"),
                "text/html; charset=utf-8");
        }

        var body = $"""
            <h1>Sign in</h1>
            {(failed is null ? "" : "<p class=\"error\" role=\"alert\">That token is not valid.</p>")}
            <form class="signin" method="post" action="/signin">
              {AntiforgeryField(http, antiforgery)}
              <input type="hidden" name="returnUrl" value="{E(LocalOrHome(returnUrl))}">
              <label>Access token <input type="password" name="token" autocomplete="current-password" required></label>
              <button type="submit">Sign in</button>
            </form>
            <p class="muted">Use one of the tokens configured in <code>Api:Tokens</code>.</p>
            """;
        return Results.Content(Page("Sign in", body), "text/html; charset=utf-8");
    }

    private static async Task<IResult> SignInAsync(HttpContext http, AccessPolicy access, IAntiforgery antiforgery, FailureLimiter failures)
    {
        var client = Client(http);
        if (failures.IsBlocked(client))
        {
            http.Response.Headers.RetryAfter = FailureLimiter.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            Refused(http, "too_many_failures");
            return Results.StatusCode(StatusCodes.Status429TooManyRequests);
        }

        if (await ReadFormAsync(http, antiforgery) is { } refused)
        {
            return refused;
        }

        var form = http.Request.Form;
        var returnUrl = LocalOrHome(form["returnUrl"]);
        if (await access.SignInAsync(http, form["token"]))
        {
            return Results.Redirect(returnUrl);
        }

        failures.RecordFailure(client);
        Refused(http, "bad_credentials");
        return Results.Redirect($"/signin?failed=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
    }

    private static IResult SignOutForm(HttpContext http, IAntiforgery antiforgery)
    {
        var body = $"""
            <h1>Sign out</h1>
            <form class="signin" method="post" action="/signout">
              {AntiforgeryField(http, antiforgery)}
              <button type="submit">Sign out</button>
            </form>
            """;
        return Results.Content(Page("Sign out", body), "text/html; charset=utf-8");
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (await ReadFormAsync(http, antiforgery) is { } refused)
        {
            return refused;
        }

        await http.SignOutAsync(AccessPolicy.CookieScheme);
        return Results.Redirect("/signin");
    }

    /// <summary>Reads the form within the endpoint's body limit and checks its antiforgery token; the refusal, or null.</summary>
    private static async Task<IResult?> ReadFormAsync(HttpContext http, IAntiforgery antiforgery)
    {
        if (!http.Request.HasFormContentType)
        {
            Refused(http, "bad_request");
            return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }

        try
        {
            await http.Request.ReadFormAsync(http.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            Refused(http, ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "body_too_large" : "bad_request");
            return Results.StatusCode(ex.StatusCode);
        }
        catch (InvalidDataException)
        {
            Refused(http, "bad_request");
            return Results.BadRequest();
        }

        if (!await antiforgery.IsRequestValidAsync(http))
        {
            Refused(http, "antiforgery");
            return Results.Content(
                Page("Form expired", "<h1>Form expired</h1><p>This form was not sent from this dashboard, or it expired. <a href=\"/signin\">Try again</a>.</p>"),
                "text/html; charset=utf-8",
                statusCode: StatusCodes.Status400BadRequest);
        }

        return null;
    }

    private static string AntiforgeryField(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return $"<input type=\"hidden\" name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">";
    }

    /// <summary>The client as the connection (or a known proxy) tells it; the partition of every per-client limit.</summary>
    private static string Client(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static void Refused(HttpContext http, string reason)
    {
        IncidentBotTelemetry.InboundRefused.Add(1, new KeyValuePair<string, object?>("endpoint", "dashboard"), new KeyValuePair<string, object?>("reason", reason));
        LogRefused(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SignIn).FullName!), http.Request.Path, Client(http), reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Path} from {Remote}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string path, string remote, string reason);
}
