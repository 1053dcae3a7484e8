using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// The IMAP server's (and SMTP relay's) token check in front of <see cref="ThirdPartyOidcProvider"/>: plain HTTP on loopback
/// for Dovecot's oauth2 passdb (<c>introspection_mode = post</c>), passing each <c>token=...</c> on to the provider's own
/// introspection endpoint over HTTPS with the resource server's credentials and the provider's answer back unchanged. It
/// can be made to fail (HTTP 503, as when the server cannot reach its provider): Dovecot then answers
/// <c>NO [UNAVAILABLE] Temporary authentication failure</c>. Every token it was asked about is kept, in order.
/// </summary>
public sealed class IntrospectionShim : IAsyncDisposable
{
    private readonly WebApplication _app;
    private ThirdPartyOidcProvider? _provider;
    private HttpClient? _http;
    private readonly ConcurrentQueue<string> _tokens = new();
    private int _failed;
    private volatile bool _failing;

    private IntrospectionShim(WebApplication app) => _app = app;

    /// <summary>The URL Dovecot's <c>introspection_url</c> points at.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Whether every check fails now (HTTP 503).</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>Checks answered with a failure so far.</summary>
    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Every token the server asked about, in order.</summary>
    public IReadOnlyList<string> Tokens => [.. _tokens];

    /// <summary>Starts the shim on a free loopback port (it fails every check until <see cref="Use"/> names the provider).</summary>
    /// <returns>The running shim.</returns>
    public static async Task<IntrospectionShim> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var shim = new IntrospectionShim(app);
        app.MapPost("/introspect", shim.IntrospectAsync);
        await app.StartAsync();
        shim.Endpoint = new Uri(app.Urls.Single() + "/introspect");
        return shim;
    }

    /// <summary>Checks tokens at <paramref name="provider"/> from now on.</summary>
    /// <param name="provider">The provider whose introspection endpoint is asked.</param>
    public void Use(ThirdPartyOidcProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _http = provider.NewTrustingClient();
        _provider = provider;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http?.Dispose();
    }

    private async Task<IResult> IntrospectAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        var token = form["token"].ToString();
        _tokens.Enqueue(token);
        if (_failing || _provider is null || _http is null)
        {
            Interlocked.Increment(ref _failed);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        try
        {
            var (status, body) = await _provider.IntrospectAsync(_http, token, request.HttpContext.RequestAborted);
            return Results.Text(body, "application/json", statusCode: (int)status);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref _failed);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable); // the provider is down
        }
    }
}
