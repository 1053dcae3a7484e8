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
/// them); an address that cannot be bound is one log line and the worker routes mail without its window — except for a
/// person at a terminal (<c>smartmail run --watch</c> on loopback), who gets the next free port instead, as Jupyter does.
/// </summary>
/// <param name="options">The worker's settings (<c>SmartMail:Web</c>).</param>
/// <param name="services">The worker's services.</param>
/// <param name="signIn">The one-time sign-in link.</param>
/// <param name="time">The clock.</param>
/// <param name="loggerFactory">The worker's logger factory.</param>
public sealed partial class WebHostService(SmartMailOptions options, IServiceProvider services, OneTimeSignIn signIn, TimeProvider time, ILoggerFactory loggerFactory)
    : HostedWebApp
{
    /// <summary>The file (in the data directory, 0600) that holds the one-time link when no console shows it.</summary>
    public const string SignInLinkFile = "web-signin-link.txt";

    // How many ports after a taken one the interactive default tries.
    private const int NextPorts = 20;

    private readonly ILogger _logger = loggerFactory.CreateLogger<WebHostService>();

    /// <summary>The address the app listens on once started (the bound port when <c>Url</c> names port 0).</summary>
    public string? Address { get; private set; }

    /// <summary>The one-time sign-in link once started without OpenID Connect.</summary>
    public string? SignInLink => Address is { } address && !options.Web.UsesOidc ? signIn.Link(address) : null;

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
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
            AccessAudit = services.GetService<IAccessAudit>(),
            Privacy = services.GetService<IPrivacyRequests>(),
            KeysDirectory = Path.Combine(options.DataDirectory, "web-keys"),
            OidcCertificateValidation = web.Oidc.CaCertificateFile is { Length: > 0 } ca ? TrustedCa.Validator(X509CertificateLoader.LoadCertificateFromFile(ca)) : null,
            Time = time,
        };
        // A person at a terminal on loopback: a taken port moves on to the next free one. A service keeps its configured address.
        var interactive = signIn.PrintedByCaller && web.IsLoopback && !web.UsesOidc;
        _ = WebOptions.TryParseUrl(web.Url, out var url); // validated
        var tries = interactive && url.Port != 0 ? NextPorts : 1;
        for (var attempt = 0; attempt < tries; attempt++)
        {
            var address = attempt == 0 ? web.Url : new UriBuilder(url) { Port = url.Port + attempt }.Uri.GetLeftPart(UriPartial.Authority);
            var app = WebApp.Create(web, context, address);
            try
            {
                await app.StartAsync(cancellationToken);
                App = app;
                break;
            }
            catch (IOException ex)
            {
                await app.DisposeAsync();
                if (attempt == tries - 1 || !IsAddressInUse(ex))
                {
                    // The port is taken (or not this user's to take): mail routing does not stop for the window.
                    CannotListen(_logger, address, ex.InnerException?.Message ?? ex.Message);
                    return;
                }
            }
        }
        Address = App!.Urls.FirstOrDefault() ?? web.Url; // set: the loop breaks only once started
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
            var file = Path.GetFullPath(Path.Combine(options.DataDirectory, SignInLinkFile));
            DataDirectoryPermissions.WritePrivateFile(file, signIn.Link(Address) + Environment.NewLine);
            ListeningWithLinkFile(_logger, Address, file, (int)OneTimeSignIn.Lifetime.TotalMinutes);
        }
    }

    // Kestrel: IOException "Failed to bind to address ...: address already in use" around an AddressInUseException.
    private static bool IsAddressInUse(IOException ex) =>
        ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
            or System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse };

    [LoggerMessage(EventId = SmartMailEventId.WebListening, Level = LogLevel.Information, Message = "Web app on {Address} (sign-in by OpenID Connect)")]
    private static partial void Listening(ILogger logger, string address);

    // The link itself never reaches the log: it is an administrator's credential.
    [LoggerMessage(EventId = SmartMailEventId.WebListeningWithLink, Level = LogLevel.Information,
        Message = "Web app on {Address}; its one-time sign-in link (good for {Minutes} minutes, from this machine only) is in {File}, readable by this service's user only")]
    private static partial void ListeningWithLinkFile(ILogger logger, string address, string file, int minutes);

    [LoggerMessage(EventId = SmartMailEventId.WebListeningLinkPrinted, Level = LogLevel.Information, Message = "Web app on {Address}; its one-time sign-in link is printed on the console")]
    private static partial void ListeningLinkPrinted(ILogger logger, string address);

    [LoggerMessage(EventId = SmartMailEventId.WebCannotListen, Level = LogLevel.Error, Message = "SmartMail:Web:Url: the web app cannot listen on {Url} ({Reason}); mail is routed without it")]
    private static partial void CannotListen(ILogger logger, string url, string reason);

    [LoggerMessage(EventId = SmartMailEventId.WebNoBackend, Level = LogLevel.Warning, Message = "The web app is not started: the worker has no oversight queries registered")]
    private static partial void NoBackend(ILogger logger);
}
