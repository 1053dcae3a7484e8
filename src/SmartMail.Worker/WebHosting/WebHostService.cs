using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Web;
using SmartMail.Worker.Options;
using SmartMail.Worker.Security;

namespace SmartMail.Worker.WebHosting;

/// <summary>
/// Runs the web app (<see cref="WebApp"/>) in the worker's process, on the worker's <see cref="IOversightQueries"/> and
/// <see cref="IMailActions"/> singletons and its redacting logger. Unsafe settings fail the start (the validator names
/// them); an address that cannot be bound is logged and the worker routes mail without its window.
/// </summary>
/// <param name="options">The worker's settings (<c>SmartMail:Web</c>).</param>
/// <param name="services">The worker's services.</param>
/// <param name="signIn">The one-time sign-in link.</param>
/// <param name="time">The clock.</param>
/// <param name="loggerFactory">The worker's logger factory.</param>
public sealed partial class WebHostService(SmartMailOptions options, IServiceProvider services, OneTimeSignIn signIn, TimeProvider time, ILoggerFactory loggerFactory)
    : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<WebHostService>();
    private WebApplication? _app;

    /// <summary>The address the app listens on once started (the bound port when <c>Url</c> names port 0).</summary>
    public string? Address { get; private set; }

    /// <summary>The one-time sign-in link once started without OpenID Connect.</summary>
    public string? SignInLink => Address is { } address && !options.Web.UsesOidc ? signIn.Link(address) : null;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var web = options.Web;
        if (!web.Enabled)
        {
            return;
        }
        if (services.GetService<IOversightQueries>() is not { } queries || services.GetService<IMailActions>() is not { } actions)
        {
            NoBackend(_logger);
            return;
        }
        var context = new WebAppContext(queries, actions, loggerFactory)
        {
            SignIn = signIn,
            KeysDirectory = Path.Combine(options.DataDirectory, "web-keys"),
            OidcCertificateValidation = web.Oidc.CaCertificateFile is { Length: > 0 } ca ? TrustedCa.Validator(X509CertificateLoader.LoadCertificateFromFile(ca)) : null,
            Time = time,
        };
        var app = WebApp.Create(web, context);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            // Another process has the port: mail routing does not stop for the window.
            CannotListen(_logger, web.Url, ex.Message);
            await app.DisposeAsync();
            return;
        }
        _app = app;
        Address = app.Urls.FirstOrDefault() ?? web.Url;
        if (web.UsesOidc)
        {
            Listening(_logger, Address);
        }
        else if (signIn.PrintedByCaller)
        {
            ListeningLinkPrinted(_logger, Address);
        }
        else
        {
            var link = signIn.Link(Address);
            ListeningWithLink(_logger, Address, link);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = SmartMailEventId.WebListening, Level = LogLevel.Information, Message = "Web app on {Address} (sign-in by OpenID Connect)")]
    private static partial void Listening(ILogger logger, string address);

    // The token is letters only: the redacting logger leaves it whole. This is the one log line that holds it.
    [LoggerMessage(EventId = SmartMailEventId.WebListeningWithLink, Level = LogLevel.Information, Message = "Web app on {Address}; sign in once with {Link}")]
    private static partial void ListeningWithLink(ILogger logger, string address, string link);

    [LoggerMessage(EventId = SmartMailEventId.WebListeningLinkPrinted, Level = LogLevel.Information, Message = "Web app on {Address}; its one-time sign-in link is printed on the console")]
    private static partial void ListeningLinkPrinted(ILogger logger, string address);

    [LoggerMessage(EventId = SmartMailEventId.WebCannotListen, Level = LogLevel.Error, Message = "SmartMail:Web:Url: the web app cannot listen on {Url} ({Reason}); mail is routed without it")]
    private static partial void CannotListen(ILogger logger, string url, string reason);

    [LoggerMessage(EventId = SmartMailEventId.WebNoBackend, Level = LogLevel.Warning, Message = "The web app is not started: the worker has no oversight queries registered")]
    private static partial void NoBackend(ILogger logger);
}
