using System.Net;
using System.Security.Claims;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace SmartMail.Web;

/// <summary>
/// Builds the web app: Razor Pages on Kestrel, cookie sign-in by the one-time link (loopback) or OpenID Connect
/// (authorization code with PKCE), anti-forgery on every POST, no request logging.
/// </summary>
public static class WebApp
{
    /// <summary>The settings path the start-up messages name.</summary>
    public const string SettingsPath = "SmartMail:Web";

    /// <summary>The OpenID Connect scheme's name.</summary>
    public const string OidcScheme = "oidc";

    /// <summary>Builds the app (not started).</summary>
    /// <param name="options">The settings.</param>
    /// <param name="context">What it shares with the worker.</param>
    /// <returns>The app; <c>StartAsync</c> listens, <c>Urls</c> then holds the bound addresses.</returns>
    /// <exception cref="InvalidOperationException">The settings are not safe to start with; the message names each setting.</exception>
    public static WebApplication Create(WebOptions options, WebAppContext context) => Create(options, context, options?.Url!);

    /// <summary>Builds the app (not started) to listen on <paramref name="listen"/> instead of <see cref="WebOptions.Url"/> (the next free port of the embedded default).</summary>
    /// <param name="options">The settings.</param>
    /// <param name="context">What it shares with the worker.</param>
    /// <param name="listen">The address to listen on: <see cref="WebOptions.Url"/> with another port.</param>
    /// <returns>The app; <c>StartAsync</c> listens, <c>Urls</c> then holds the bound addresses.</returns>
    /// <exception cref="InvalidOperationException">The settings are not safe to start with; the message names each setting.</exception>
    public static WebApplication Create(WebOptions options, WebAppContext context, string listen)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var failures = options.Validate(SettingsPath).ToList();
        if (failures.Count > 0)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, failures));
        }
        _ = WebOptions.TryParseUrl(options.Url, out var url);
        var loopback = options.IsLoopback;
        var signIn = options.UsesOidc ? null : context.SignIn ?? new OneTimeSignIn();

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(WebApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.Sources.Clear(); // the worker's configuration is the one; no ASPNETCORE_URLS surprises
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(context.LoggerFactory));
        // Request lines carry query strings (the sign-in token, search terms): the framework logs only warnings and errors.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System", LogLevel.Warning);
        // Expected on every form: anti-forgery marks pages no-store (they are already). DataProtection's warnings stay on: one
        // says that a new key is stored unencrypted (Linux without KeysCertificateFile; the file is 0600 in a 0700 folder).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Antiforgery", LogLevel.Error);
        // A failed start (port taken) is thrown to the worker, which says it in one line: not a stack trace from this host too.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.WebHost.UseUrls(listen);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            if (url.Scheme == Uri.UriSchemeHttps)
            {
                var password = options.Https.CertificatePasswordFile is { } p ? File.ReadAllText(p).Trim() : null;
                var certificate = X509CertificateLoader.LoadPkcs12FromFile(options.Https.CertificateFile!, password); // validated: set for https
                kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
            }
        });

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(context.Queries);
        services.AddSingleton(context.Actions);
        services.AddSingleton(context.Time);
        services.AddSingleton(new Format(TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone))); // validated above
        // Danish letters as themselves, not &#xF8;: every character is still HTML-encoded where it must be.
        services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(o => o.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
        if (signIn is not null)
        {
            services.AddSingleton(signIn);
        }
        var protection = services.AddDataProtection().SetApplicationName("SmartMail.Web");
        if (context.KeysDirectory is { } keys)
        {
            ProtectKeys(protection, options, new DirectoryInfo(keys), context.LoggerFactory);
        }
        else
        {
            services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        }
        // Plain http is the embedded default on loopback only; beyond it, or behind a TLS-terminating proxy, cookies are Secure
        // and HSTS is sent.
        var tlsOnly = !loopback || options.BehindProxy;
        var secure = tlsOnly ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "SmartMail.Antiforgery";
            o.Cookie.SecurePolicy = secure;
            o.FormFieldName = "__csrf";
        });
        services.AddRazorPages(o =>
        {
            o.Conventions.AuthorizeFolder("/");
            o.Conventions.AllowAnonymousToPage("/Login");
            o.Conventions.AuthorizeFolder("/Models", "admin");
        }).AddCookieTempDataProvider(o =>
        {
            o.Cookie.Name = "SmartMail.Flash";
            o.Cookie.SecurePolicy = secure;
        });
        var authentication = services.AddAuthentication(o =>
        {
            o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            o.DefaultChallengeScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        });
        authentication.AddCookie(o =>
        {
            o.Cookie.Name = "SmartMail.Auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = secure;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.LoginPath = "/login";
            o.Events.OnValidatePrincipal = e => RecheckRoles(e, options, context.Time);
            o.Events.OnRedirectToLogin = e =>
            {
                // A page asked for by a browser goes to sign-in; anything else (a POST, a script) gets a bare 401.
                if (HttpMethods.IsGet(e.Request.Method) && !e.Request.Headers.ContainsKey("X-Requested-With"))
                {
                    e.Response.Redirect(e.RedirectUri);
                }
                else
                {
                    e.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }
                return Task.CompletedTask;
            };
            o.Events.OnRedirectToAccessDenied = e =>
            {
                e.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
        });
        if (options.UsesOidc)
        {
            AddOidc(authentication, options, url, context);
        }
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy("admin", p => p.RequireRole(UserAccess.AdminRole));
        if (options.BehindProxy)
        {
            services.Configure<ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
                foreach (var proxy in options.KnownProxies)
                {
                    o.KnownProxies.Add(IPAddress.Parse(proxy));
                }
            });
        }
        if (tlsOnly)
        {
            services.AddHsts(o =>
            {
                o.MaxAge = TimeSpan.FromDays(365);
                o.ExcludedHosts.Clear();
            });
        }

        var app = builder.Build();
        if (options.BehindProxy)
        {
            app.UseForwardedHeaders();
        }
        app.UseExceptionHandler(error => error.Run(async http =>
        {
            http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync("Something went wrong; the worker's log says what.");
        }));
        if (tlsOnly)
        {
            app.UseHsts();
        }
        app.Use(SecurityHeaders);
        app.UseRequestLocalization(Format.Localization(options.Language));
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/assets/app.css", () => Results.Text(Assets.Css, "text/css; charset=utf-8")).AllowAnonymous();
        app.MapGet("/assets/app.js", () => Results.Text(Assets.Script, "text/javascript; charset=utf-8")).AllowAnonymous();
        app.MapGet("/signin", async (HttpContext http, string? token) =>
        {
            if (signIn is null)
            {
                return Results.NotFound();
            }
            if (!OneTimeSignIn.MayUse(http) || !signIn.TrySpend(token))
            {
                return Results.StatusCode(StatusCodes.Status403Forbidden);
            }
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, UserAccess.LocalAdmin());
            return Results.Redirect("/");
        }).AllowAnonymous();
        app.MapPost("/signout", async (HttpContext http, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                return Results.BadRequest();
            }
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            if (options.UsesOidc)
            {
                // Ends the provider's session too (its end_session_endpoint), so that a shared PC does not sign the last user back in.
                await http.SignOutAsync(OidcScheme, new AuthenticationProperties { RedirectUri = "/login" });
                return Results.Empty;
            }
            return Results.Redirect("/login");
        });
        app.MapGet("/triage", (HttpContext http, IOversightQueries queries) =>
            UserAccess.Of(http.User).Entitled(queries.Mailboxes()) is [var first, ..] ? Results.Redirect($"/triage/{Uri.EscapeDataString(first)}") : Results.NotFound());
        app.MapRazorPages();
        return app;
    }

    private static void AddOidc(AuthenticationBuilder authentication, WebOptions options, Uri url, WebAppContext context)
    {
        var oidc = options.Oidc;
        authentication.AddOpenIdConnect(OidcScheme, o =>
        {
            o.Authority = oidc.Authority!.AbsoluteUri; // UsesOidc: set
            o.ClientId = oidc.ClientId;
            o.ClientSecret = oidc.ClientSecretFile is { } file ? File.ReadAllText(file).Trim() : oidc.ClientSecret;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.UsePkce = true;
            o.Scope.Clear();
            o.Scope.Add("openid");
            o.Scope.Add("profile");
            o.MapInboundClaims = false;
            o.SaveTokens = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.DisableTelemetry = true;
            o.CallbackPath = "/signin-oidc";
            o.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            o.TokenValidationParameters.NameClaimType = oidc.NameClaim;
            o.TokenValidationParameters.RoleClaimType = oidc.RoleClaim;
            if (url.Scheme == Uri.UriSchemeHttp)
            {
                // On plain http (loopback, or behind a proxy) the code comes back in the query of a top-level GET, so that
                // the correlation and nonce cookies can be Lax and need not be Secure.
                o.ResponseMode = OpenIdConnectResponseMode.Query;
                foreach (var cookie in new[] { o.CorrelationCookie, o.NonceCookie })
                {
                    cookie.SameSite = SameSiteMode.Lax;
                    cookie.SecurePolicy = options.IsLoopback ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
                }
            }
            if (context.OidcCertificateValidation is { } validation)
            {
                o.BackchannelHttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = validation } };
            }
            o.Events.OnTokenValidated = e =>
            {
                var signedIn = e.Principal!; // set by the handler before this event
                var name = new[] { oidc.NameClaim, "preferred_username", "name", "sub" }
                    .Select(c => signedIn.FindFirst(c)?.Value).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v)) ?? "unknown";
                var roles = signedIn.FindAll(oidc.RoleClaim).Concat(signedIn.FindAll(oidc.GroupClaim)).Select(c => c.Value);
                e.Principal = UserAccess.Principal(name, roles, oidc, OidcScheme);
                return Task.CompletedTask;
            };
            o.Events.OnRemoteFailure = e =>
            {
                WebLog.SignInFailed(e.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebApp)), e.Failure?.GetType().Name ?? "unknown");
                e.Response.StatusCode = StatusCodes.Status403Forbidden;
                e.HandleResponse();
                return Task.CompletedTask;
            };
        });
    }

    // The cookie-protection keys: in a private folder (0700, files 0600 on Linux), encrypted with the configured certificate,
    // else with DPAPI on Windows. Whoever holds the keys can forge any user's cookie, the administrator's included.
    private static void ProtectKeys(IDataProtectionBuilder protection, WebOptions options, DirectoryInfo keys, ILoggerFactory loggerFactory)
    {
        protection.AddKeyManagementOptions(o => o.XmlRepository = new PrivateKeyRepository(keys, loggerFactory));
        if (options.KeysCertificateFile is { Length: > 0 } file)
        {
            var password = options.KeysCertificatePasswordFile is { } p ? File.ReadAllText(p).Trim() : null;
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(file, password);
            if (!certificate.HasPrivateKey)
            {
                throw new InvalidOperationException($"{SettingsPath}:KeysCertificateFile: '{file}' holds no private key; the keys could be encrypted but never read again.");
            }
            protection.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        }
        else if (OperatingSystem.IsWindows())
        {
            protection.ProtectKeysWithDpapi();
        }
    }

    // Roles and groups come from the provider at sign-in: a signed-in user's are checked again by a fresh sign-in (silent while
    // the provider's session lasts) once they are older than Oidc:RolesRecheckedAfter, so that removing someone from a
    // mailbox's role takes effect within minutes. A page (GET) asks at half that age, so that a form on a page just shown
    // is not refused when posted.
    private static Task RecheckRoles(CookieValidatePrincipalContext e, WebOptions options, TimeProvider time)
    {
        if (!options.UsesOidc || e.Principal?.Identity?.AuthenticationType != OidcScheme || e.Properties.IssuedUtc is not { } issued)
        {
            return Task.CompletedTask;
        }
        var limit = HttpMethods.IsGet(e.Request.Method) ? options.Oidc.RolesRecheckedAfter / 2 : options.Oidc.RolesRecheckedAfter;
        if (time.GetUtcNow() - issued < limit)
        {
            return Task.CompletedTask;
        }
        e.RejectPrincipal();
        return e.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    private static Task SecurityHeaders(HttpContext http, Func<Task> next)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        if (!http.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal))
        {
            headers.CacheControl = "no-store"; // pages hold personal data
        }
        return next();
    }

    /// <summary>The name the audit trail records for the signed-in user.</summary>
    /// <param name="user">The principal.</param>
    /// <returns>The name.</returns>
    internal static string UserName(ClaimsPrincipal user) => user.Identity?.Name ?? "unknown";
}
