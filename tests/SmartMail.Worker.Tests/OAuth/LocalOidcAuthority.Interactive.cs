using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// The interactive half of the local authority, for a web app that signs people in (as the SmartMail web app does with
/// Entra ID): <c>/authorize</c> for the authorization-code flow with PKCE (S256), answering by query or <c>form_post</c>,
/// with a small "choose user" page or, with <see cref="AutoLogin"/>, straight away; the token endpoint's
/// <c>authorization_code</c> grant, which returns an id_token signed with RS256 (key in <see cref="JwksUri"/>) carrying the
/// user's name, roles and groups and any claims a test sets; <c>/userinfo</c>; and <c>/logout</c>
/// (<c>end_session_endpoint</c>). Every one of them is in the discovery document.
/// </summary>
public sealed partial class LocalOidcAuthority
{
    private readonly RSA _signingKey = RSA.Create(2048);
    private readonly string _keyId = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    private readonly ConcurrentDictionary<string, WebClient> _webClients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, InteractiveUser> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingCode> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (InteractiveUser User, DateTimeOffset Expires)> _userTokens = new(StringComparer.Ordinal);
    private int _signIns;
    private int _refusedCodes;
    private int _signOuts;

    /// <summary>The authorization endpoint (the browser is sent here to sign in).</summary>
    public Uri AuthorizationEndpoint => new(Issuer + "/authorize");

    /// <summary>The key set the id_token's signature is checked with.</summary>
    public Uri JwksUri => new(Issuer + "/jwks");

    /// <summary>The user info endpoint (answers for the access token of an authorization-code grant).</summary>
    public Uri UserInfoEndpoint => new(Issuer + "/userinfo");

    /// <summary>The end-session endpoint (sign-out).</summary>
    public Uri EndSessionEndpoint => new(Issuer + "/logout");

    /// <summary>The login of a user signed in at <c>/authorize</c> without a page; <see langword="null"/> shows the "choose user" page.</summary>
    public string? AutoLogin { get; set; }

    /// <summary>Whether <c>/authorize</c> refuses a request without an S256 code challenge (Entra ID asks it of public clients; here of all).</summary>
    public bool RequirePkce { get; set; } = true;

    /// <summary>How long an id_token is valid.</summary>
    public TimeSpan IdTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Authorization codes redeemed for tokens so far.</summary>
    public int SignIns => Volatile.Read(ref _signIns);

    /// <summary>Authorization-code redemptions refused so far (unknown, reused or expired code, wrong verifier, redirect or client).</summary>
    public int RefusedCodes => Volatile.Read(ref _refusedCodes);

    /// <summary>Requests to the end-session endpoint so far.</summary>
    public int SignOuts => Volatile.Read(ref _signOuts);

    /// <summary>The users the "choose user" page offers, in the order they were added.</summary>
    public IReadOnlyList<InteractiveUser> Users => [.. _users.Values.OrderBy(u => u.Order)];

    /// <summary>Registers a web app that signs people in (a confidential client using the authorization-code flow).</summary>
    /// <param name="redirectUris">The redirect URIs it may use (exactly, as in an Entra app registration); none: any http(s) URI on 127.0.0.1 or localhost.</param>
    /// <returns>The client id and its secret.</returns>
    public (string ClientId, string Secret) AddWebClient(params Uri[] redirectUris)
    {
        var id = Guid.NewGuid().ToString();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        _webClients[id] = new WebClient(secret, [.. redirectUris.Select(u => u.ToString())]);
        return (id, secret);
    }

    /// <summary>Adds a person who can sign in.</summary>
    /// <param name="login">The sign-in name (<c>preferred_username</c>, like an Entra UPN).</param>
    /// <param name="name">The display name (<c>name</c>).</param>
    /// <param name="roles">App roles (<c>roles</c>, as Entra sends assigned app roles).</param>
    /// <param name="groups">Group ids or names (<c>groups</c>, as Entra's group claim).</param>
    /// <param name="claims">More claims for the id_token and user info (a claim here replaces a standard one of the same name).</param>
    /// <returns>The user.</returns>
    public InteractiveUser AddUser(string login, string name, IEnumerable<string>? roles = null, IEnumerable<string>? groups = null,
        IReadOnlyDictionary<string, string>? claims = null)
    {
        var user = new InteractiveUser(Guid.NewGuid().ToString(), login, name, [.. roles ?? []], [.. groups ?? []],
            claims ?? new Dictionary<string, string>(), _users.Count);
        if (!_users.TryAdd(login, user))
        {
            throw new InvalidOperationException($"A user {login} exists already.");
        }
        return user;
    }

    private JsonObject WithInteractive(JsonObject discovery)
    {
        discovery["grant_types_supported"] = new JsonArray("client_credentials", "authorization_code");
        discovery["userinfo_endpoint"] = UserInfoEndpoint.ToString();
        discovery["end_session_endpoint"] = EndSessionEndpoint.ToString();
        discovery["response_modes_supported"] = new JsonArray("query", "form_post");
        discovery["code_challenge_methods_supported"] = new JsonArray("S256");
        discovery["scopes_supported"] = new JsonArray("openid", "profile", "email", "offline_access");
        discovery["claims_supported"] = new JsonArray("sub", "oid", "name", "preferred_username", "email", "roles", "groups", "nonce");
        return discovery;
    }

    private void MapInteractive(string realm)
    {
        _app.MapGet(realm + "/jwks", () => Results.Json(new JsonObject { ["keys"] = new JsonArray(PublicJwk()) }));
        _app.MapGet(realm + "/authorize", (HttpRequest request) => Authorize(request.Query, chosenLogin: null));
        _app.MapPost(realm + "/authorize", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            return Authorize(form, form["login"].ToString());
        }).DisableAntiforgery();
        _app.MapGet(realm + "/userinfo", UserInfo);
        _app.MapPost(realm + "/userinfo", UserInfo);
        _app.MapGet(realm + "/logout", (HttpRequest request) =>
        {
            Interlocked.Increment(ref _signOuts);
            var back = request.Query["post_logout_redirect_uri"].ToString();
            if (Uri.TryCreate(back, UriKind.Absolute, out var uri) && (uri.IsLoopback || _webClients.Values.Any(c => c.RedirectUris.Contains(back))))
            {
                var state = request.Query["state"].ToString();
                return Results.Redirect(state.Length == 0 ? back : AddQuery(back, [("state", state)]));
            }
            return Page("Signed out", "<p>You are signed out of the local test authority.</p>");
        });
    }

    private IResult Authorize(IEnumerable<KeyValuePair<string, StringValues>> parameters, string? chosenLogin)
    {
        var p = parameters.ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal);
        string Get(string name) => p.TryGetValue(name, out var v) ? v : string.Empty;

        // Errors about the client or its redirect URI are shown, never redirected (RFC 6749 §4.1.2.1).
        var clientId = Get("client_id");
        var redirectUri = Get("redirect_uri");
        if (!_webClients.TryGetValue(clientId, out var client))
        {
            return Page("Unknown client", "<p>The client id is not registered with this authority.</p>", StatusCodes.Status400BadRequest);
        }
        if (!AllowedRedirect(client, redirectUri))
        {
            return Page("Redirect URI not registered", "<p>The redirect URI is not registered for this client.</p>", StatusCodes.Status400BadRequest);
        }

        var responseMode = Get("response_mode") is { Length: > 0 } mode ? mode : "query";
        var state = Get("state");
        if (Get("response_type") != "code")
        {
            return Answer(redirectUri, responseMode, [("error", "unsupported_response_type"), ("state", state)]);
        }
        if (!Get("scope").Split(' ').Contains("openid"))
        {
            return Answer(redirectUri, responseMode, [("error", "invalid_scope"), ("error_description", "openid is required"), ("state", state)]);
        }
        var challenge = Get("code_challenge");
        if (challenge.Length > 0 && Get("code_challenge_method") != "S256")
        {
            return Answer(redirectUri, responseMode, [("error", "invalid_request"), ("error_description", "only S256"), ("state", state)]);
        }
        if (challenge.Length == 0 && RequirePkce)
        {
            return Answer(redirectUri, responseMode, [("error", "invalid_request"), ("error_description", "PKCE is required"), ("state", state)]);
        }

        var login = chosenLogin ?? AutoLogin;
        if (login is null)
        {
            return ChooseUserPage(p);
        }
        if (!_users.TryGetValue(login, out var user))
        {
            return Answer(redirectUri, responseMode, [("error", "access_denied"), ("error_description", "unknown user"), ("state", state)]);
        }
        var code = Base64UrlText(RandomNumberGenerator.GetBytes(32));
        _codes[code] = new PendingCode(clientId, redirectUri, user, Get("nonce"), challenge, DateTimeOffset.UtcNow.AddMinutes(1));
        return Answer(redirectUri, responseMode, [("code", code), ("state", state)]);
    }

    private static bool AllowedRedirect(WebClient client, string redirectUri) =>
        client.RedirectUris.Count > 0
            ? client.RedirectUris.Contains(redirectUri)
            : Uri.TryCreate(redirectUri, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.IsLoopback;

    private IResult ChooseUserPage(Dictionary<string, string> parameters)
    {
        var html = HtmlEncoder.Default;
        var hidden = string.Concat(parameters.Where(kv => kv.Key != "login")
            .Select(kv => $"<input type=\"hidden\" name=\"{html.Encode(kv.Key)}\" value=\"{html.Encode(kv.Value)}\">"));
        var buttons = string.Concat(Users.Select(u =>
            $"<li><button type=\"submit\" name=\"login\" value=\"{html.Encode(u.Login)}\" data-testid=\"oidc-user-{html.Encode(u.Login)}\">"
            + $"Sign in as {html.Encode(u.Name)}</button> <small>{html.Encode(string.Join(", ", u.Roles.Concat(u.Groups)))}</small></li>"));
        return Page("Choose a user", $"<form method=\"post\" action=\"{html.Encode(AuthorizationEndpoint.AbsolutePath)}\">{hidden}<ul>{buttons}</ul></form>");
    }

    private IResult CodeToken(IFormCollection form, string clientId, string secret)
    {
        if (!_webClients.TryGetValue(clientId, out var client) || string.IsNullOrEmpty(secret)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(client.Secret)))
        {
            return RefuseCode("invalid_client", "client authentication failed", StatusCodes.Status401Unauthorized);
        }
        // A code is good once: it is removed whether or not the rest checks out.
        if (!_codes.TryRemove(form["code"].ToString(), out var pending) || pending.Expires < DateTimeOffset.UtcNow || pending.ClientId != clientId)
        {
            return RefuseCode("invalid_grant", "unknown, used or expired code");
        }
        if (pending.RedirectUri != form["redirect_uri"].ToString())
        {
            return RefuseCode("invalid_grant", "redirect_uri differs from the authorization request");
        }
        if (pending.CodeChallenge.Length > 0
            && Base64UrlText(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))) != pending.CodeChallenge)
        {
            return RefuseCode("invalid_grant", "code_verifier does not match the code_challenge");
        }

        Interlocked.Increment(ref _signIns);
        var accessToken = Base64UrlText(RandomNumberGenerator.GetBytes(32));
        _userTokens[accessToken] = (pending.User, DateTimeOffset.UtcNow + TokenLifetime);
        return Results.Json(new JsonObject
        {
            ["access_token"] = accessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)Math.Ceiling(TokenLifetime.TotalSeconds),
            ["scope"] = "openid profile email",
            ["id_token"] = IdToken(pending.User, clientId, pending.Nonce),
        });
    }

    private IResult RefuseCode(string error, string description, int status = StatusCodes.Status400BadRequest)
    {
        Interlocked.Increment(ref _refusedCodes);
        return Results.Json(new JsonObject { ["error"] = error, ["error_description"] = description }, statusCode: status);
    }

    private IResult UserInfo(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            || !_userTokens.TryGetValue(header[7..].Trim(), out var issued) || issued.Expires < DateTimeOffset.UtcNow)
        {
            return Results.Json(new JsonObject { ["error"] = "invalid_token" }, statusCode: StatusCodes.Status401Unauthorized);
        }
        var claims = UserClaims(issued.User);
        return Results.Json(claims);
    }

    /// <summary>A signed RS256 id_token for <paramref name="user"/>, as the token endpoint issues it (for tests of a token's checks).</summary>
    /// <param name="user">The user.</param>
    /// <param name="audience">The client id.</param>
    /// <param name="nonce">The nonce of the authorization request, if any.</param>
    /// <returns>The compact JWT.</returns>
    public string IdToken(InteractiveUser user, string audience, string? nonce)
    {
        ArgumentNullException.ThrowIfNull(user);
        var now = DateTimeOffset.UtcNow;
        var payload = UserClaims(user);
        payload["iss"] = Issuer.ToString();
        payload["aud"] = audience;
        payload["iat"] = now.ToUnixTimeSeconds();
        payload["nbf"] = now.ToUnixTimeSeconds();
        payload["auth_time"] = now.ToUnixTimeSeconds();
        payload["exp"] = (now + IdTokenLifetime).ToUnixTimeSeconds();
        if (!string.IsNullOrEmpty(nonce))
        {
            payload["nonce"] = nonce;
        }
        var header = new JsonObject { ["alg"] = "RS256", ["typ"] = "JWT", ["kid"] = _keyId };
        var signingInput = Base64UrlText(Encoding.UTF8.GetBytes(header.ToJsonString())) + "."
            + Base64UrlText(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var signature = _signingKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64UrlText(signature);
    }

    private static JsonObject UserClaims(InteractiveUser user)
    {
        var claims = new JsonObject
        {
            ["sub"] = user.Subject,
            ["oid"] = user.Subject,
            ["name"] = user.Name,
            ["preferred_username"] = user.Login,
            ["email"] = user.Login,
            ["roles"] = new JsonArray([.. user.Roles.Select(r => JsonValue.Create(r))]),
            ["groups"] = new JsonArray([.. user.Groups.Select(g => JsonValue.Create(g))]),
        };
        foreach (var (key, value) in user.Claims)
        {
            claims[key] = value;
        }
        return claims;
    }

    private JsonObject PublicJwk()
    {
        var parameters = _signingKey.ExportParameters(includePrivateParameters: false);
        return new JsonObject
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = _keyId,
            ["n"] = Base64UrlText(parameters.Modulus!), // an exported RSA public key always has both
            ["e"] = Base64UrlText(parameters.Exponent!),
        };
    }

    private static IResult Answer(string redirectUri, string responseMode, (string Name, string Value)[] fields)
    {
        var present = fields.Where(f => f.Value.Length > 0).ToArray();
        if (responseMode != "form_post")
        {
            return Results.Redirect(AddQuery(redirectUri, present));
        }
        var html = HtmlEncoder.Default;
        var inputs = string.Concat(present.Select(f => $"<input type=\"hidden\" name=\"{html.Encode(f.Name)}\" value=\"{html.Encode(f.Value)}\">"));
        return Results.Content(
            $"<!doctype html><html><head><title>Signing in</title></head><body onload=\"document.forms[0].submit()\">"
            + $"<form method=\"post\" action=\"{html.Encode(redirectUri)}\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
            "text/html; charset=utf-8");
    }

    private static string AddQuery(string uri, IEnumerable<(string Name, string Value)> fields)
    {
        var query = string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Name) + "=" + Uri.EscapeDataString(f.Value)));
        return query.Length == 0 ? uri : uri + (uri.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
    }

    private static IResult Page(string title, string body, int status = StatusCodes.Status200OK) => Results.Content(
        $"<!doctype html><html><head><meta charset=\"utf-8\"><title>{HtmlEncoder.Default.Encode(title)} – local OIDC authority</title></head>"
        + $"<body><h1>{HtmlEncoder.Default.Encode(title)}</h1>{body}</body></html>", "text/html; charset=utf-8", Encoding.UTF8, status);

    private static string Base64UrlText(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A person who can sign in at the authority.</summary>
    /// <param name="Subject">The stable id (<c>sub</c> and <c>oid</c>).</param>
    /// <param name="Login">The sign-in name (<c>preferred_username</c>, <c>email</c>).</param>
    /// <param name="Name">The display name.</param>
    /// <param name="Roles">App roles.</param>
    /// <param name="Groups">Groups.</param>
    /// <param name="Claims">More claims.</param>
    /// <param name="Order">Where the user stands on the "choose user" page.</param>
    public sealed record InteractiveUser(string Subject, string Login, string Name, IReadOnlyList<string> Roles, IReadOnlyList<string> Groups,
        IReadOnlyDictionary<string, string> Claims, int Order);

    private sealed record WebClient(string Secret, IReadOnlyList<string> RedirectUris);

    private sealed record PendingCode(string ClientId, string RedirectUri, InteractiveUser User, string Nonce, string CodeChallenge, DateTimeOffset Expires);
}
