using System.Globalization;
using System.Net.Http;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using SmartMail.Core;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Auth;

namespace SmartMail.Worker.Sinks;

/// <summary>
/// Forwards routed mail by SMTP to the e-mail address of its destination, in one of two
/// <see cref="SmtpForwardMode">modes</see>. Every forwarded mail carries <c>X-SmartMail-Decision-Id</c>,
/// <c>X-SmartMail-Label</c> and <c>X-SmartMail-Confidence</c>, and a Message-ID (Attach) or Resent-Message-ID
/// (Resend) derived from the decision id only: <c>&lt;DECISION-ID@smartmail.invalid&gt;</c>.
/// </summary>
/// <remarks>
/// SMTP is at-least-once (RFC 1047: a link that breaks between the final "." and the 250 reply leaves a copy on
/// both sides), so a retried delivery can reach the recipient twice. Both copies have the same Message-ID /
/// Resent-Message-ID; the receiving system de-duplicates on it. Every failure to hand the mail over is an
/// <see cref="IOException"/> (the cause as inner exception): a <see cref="DeliveryUnavailableException"/> when the relay is
/// unavailable (refused, reset, timed out, 4xx, authentication or TLS trouble), which the processor retries with backoff
/// for as long as it lasts, and a plain one when the relay refused the mail for good (5xx).
/// Exception messages name the destination and relay, never the mail's content.
/// The relay's certificate is validated against the system store or, as for IMAP, against the CA in
/// <see cref="SmtpForwardOptions.CaCertificateFile"/>; there is no "accept all".
/// With <see cref="SmtpForwardOptions.Authentication"/> <c>OAuth2</c> the sink signs in by SASL XOAUTH2 with an app-only
/// token (one token cache per options object, shared by every sink made from it). A sign-in refused for good (a wrong
/// secret, missing consent, an app without SMTP.SendAsApp or access to the mailbox) is logged once as a critical line that
/// names the fix; for <see cref="SignInHoldOff"/> after it every delivery fails at once as unavailable, without asking the
/// authority or the relay again (no retry storm), and the mails wait in their source.
/// </remarks>
public sealed class SmtpForwardSink : IMailSink
{
    /// <summary>The domain of the deterministic message ids.</summary>
    public const string MessageIdDomain = "smartmail.invalid";

    /// <summary>How long after a refused OAuth2 sign-in deliveries fail without trying (then one try, in case it was fixed).</summary>
    public static readonly TimeSpan SignInHoldOff = TimeSpan.FromMinutes(10);

    // One sign-in state (MSAL's token cache, the last refusal) per options object: every sink made from it shares it.
    private static readonly ConditionalWeakTable<SmtpForwardOptions, RelaySignIn> SignIns = [];

    private readonly SmtpForwardOptions _options;
    private readonly ILogger? _logger;
    private readonly Func<string, string?> _addressFor;
    private readonly MailboxAddress _from;
    private readonly TimeProvider _time;
    private readonly RemoteCertificateValidationCallback _certificateValidator;

    /// <summary>Creates the sink.</summary>
    /// <param name="options">The relay and mode.</param>
    /// <param name="addressFor">The routing table: destination name → e-mail address, or null when the destination has none.</param>
    /// <param name="time">The clock of the Date / Resent-Date headers and of the sign-in hold-off (default: the system clock).</param>
    /// <param name="logger">Where a refused sign-in is logged (once per refusal).</param>
    /// <exception cref="ArgumentException">The options are incomplete or ask for plaintext without <see cref="SmtpForwardOptions.AllowPlaintext"/>.</exception>
    public SmtpForwardSink(SmtpForwardOptions options, Func<string, string?> addressFor, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(addressFor);
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            throw new ArgumentException("SMTP forwarding needs a Host.", nameof(options));
        }
        if (options.Port is < 1 or > 65535)
        {
            throw new ArgumentException($"SMTP Port {options.Port} is not a valid port.", nameof(options));
        }
        if (options.Security == SmtpForwardSecurity.None && !options.AllowPlaintext)
        {
            throw new ArgumentException("SMTP Security None sends mail in plaintext; set AllowPlaintext to allow it.", nameof(options));
        }
        if (options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("SMTP Timeout must be positive.", nameof(options));
        }
        if (!MailboxAddress.TryParse(options.From, out var from) || string.IsNullOrEmpty(from.Address) || !from.Address.Contains('@'))
        {
            throw new ArgumentException($"SMTP From '{options.From}' is not an e-mail address.", nameof(options));
        }
        _certificateValidator = Security.TrustedCa.Validator(LoadCa(options.CaCertificateFile));
        _options = options;
        _addressFor = addressFor;
        _from = from;
        _time = time ?? TimeProvider.System;
        _logger = logger;
    }

    /// <summary>The deterministic Message-ID (Attach) / Resent-Message-ID (Resend) of a decision, without angle brackets.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns><c>DECISION-ID@smartmail.invalid</c>.</returns>
    public static string MessageIdFor(string decisionId)
    {
        ArgumentNullException.ThrowIfNull(decisionId);
        var local = new string([.. decisionId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')]).Trim('.');
        return (local.Length == 0 ? "_" : local) + "@" + MessageIdDomain;
    }

    /// <inheritdoc />
    /// <exception cref="DeliveryUnavailableException">The relay is unavailable now; retry later.</exception>
    /// <exception cref="IOException">No address is known for the destination, or the relay refused the mail (5xx).</exception>
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var recipient = RecipientFor(delivery.Destination);
        var info = DecisionInfo.Parse(delivery.DecisionJson);
        var original = TryParse(delivery.Raw);
        var message = _options.Mode == SmtpForwardMode.Resend && original is not null
            ? Resend(original, delivery, info, recipient)
            : Attach(original, delivery, info, recipient);

        var signIn = _options.UsesOAuth2 ? SignIns.GetValue(_options, o => new RelaySignIn(o)) : null;
        var what = $"SMTP forward of decision {delivery.DecisionId} to destination '{delivery.Destination}' via "
            + $"{_options.Host}:{_options.Port.ToString(CultureInfo.InvariantCulture)} failed";
        if (signIn?.RefusedUntil(_time.GetUtcNow()) is { } held)
        {
            // Refused a moment ago: not again (a storm of sign-ins gets the app throttled or the account locked).
            throw new DeliveryUnavailableException($"{what}: the sign-in was refused; next try after {held.Until:u}: {held.Message}", held.Refusal);
        }
        using var client = new SmtpClient
        {
            Timeout = (int)Math.Min(int.MaxValue, _options.Timeout.TotalMilliseconds),
            ServerCertificateValidationCallback = _certificateValidator,
        };
        try
        {
            await client.ConnectAsync(_options.Host, _options.Port, SocketOptions(_options.Security), cancellationToken);
            if (signIn is not null)
            {
                await MailSignIn.AuthenticateAsync(client, _options.Username!, null, signIn.Tokens(), RelaySignIn.Setting, cancellationToken);
                signIn.Accepted();
            }
            else if (!string.IsNullOrEmpty(_options.Username))
            {
                await client.AuthenticateAsync(_options.Username, _options.Password ?? "", cancellationToken);
            }
            await client.SendAsync(message, _from, [recipient], cancellationToken);
        }
        catch (SignInRefusedException ex) when (signIn is not null)
        {
            if (signIn.Refuse(ex, _time.GetUtcNow() + SignInHoldOff))
            {
                SmtpLog.SignInRefused(_logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _options.Host, ex.Message);
            }
            throw new DeliveryUnavailableException($"{what}: the sign-in was refused: {ex.Message}", ex);
        }
        catch (HttpRequestException ex) when (signIn is not null && !cancellationToken.IsCancellationRequested)
        {
            throw new DeliveryUnavailableException($"{what}: the token authority is unavailable ({ex.StatusCode?.ToString() ?? ex.HttpRequestError.ToString()})", ex);
        }
        catch (Exception ex) when (IsTransport(ex) && !cancellationToken.IsCancellationRequested)
        {
            what = $"{what}: {Describe(ex)}";
            // Only a 5xx reply refuses this mail for good; anything else is the relay being unavailable.
            throw ex is SmtpCommandException { StatusCode: >= (SmtpStatusCode)500 } ? new IOException(what, ex) : new DeliveryUnavailableException(what, ex);
        }

        try
        {
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception ex) when (IsTransport(ex))
        {
            // The relay has answered 250 to the data: the mail is delivered, and a failing QUIT must not make it a retry.
        }
    }

    private MailboxAddress RecipientFor(string destination)
    {
        var address = _addressFor(destination);
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new IOException($"No e-mail address is configured for destination '{destination}'.");
        }
        if (!MailboxAddress.TryParse(address, out var recipient) || !recipient.Address.Contains('@'))
        {
            throw new IOException($"The e-mail address configured for destination '{destination}' is not valid.");
        }
        return recipient;
    }

    private MimeMessage Attach(MimeMessage? original, Delivery delivery, DecisionInfo info, MailboxAddress recipient)
    {
        var message = new MimeMessage();
        message.From.Add(_from);
        message.To.Add(recipient);
        message.Subject = "[SmartMail] " + (original?.Subject ?? "(no subject)");
        message.Date = _time.GetUtcNow();
        message.MessageId = MessageIdFor(delivery.DecisionId);
        AddSmartMailHeaders(message.Headers, delivery, info);

        var confidence = info.Confidence is { } c ? c.ToString("0.###", CultureInfo.InvariantCulture) : "n/a";
        var label = info.Label ?? "none (manual triage)";
        var text = $"Routed by SmartMail: label {label} (confidence {confidence}), {Redactor.Redact(info.Reason ?? "no reason given")}\n"
            + $"\nDestination: {delivery.Destination}\nDecision id: {delivery.DecisionId}\n"
            + (info.ModelVersion is { } model ? $"Model version: {model}\n" : "")
            + "\nThe original message is attached unchanged.\n";
        var body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = text },
        };
        if (original is not null)
        {
            body.Add(new MessagePart("rfc822") { Message = original, ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "original.eml" } });
        }
        else
        {
            // Not MIME at all: the bytes still go along, unchanged, as an opaque file.
            body.Add(new MimePart("application", "octet-stream")
            {
                Content = new MimeContent(new MemoryStream(delivery.Raw, writable: false)),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = "original.eml" },
                ContentTransferEncoding = ContentEncoding.Base64,
            });
        }
        message.Body = body;
        return message;
    }

    private MimeMessage Resend(MimeMessage original, Delivery delivery, DecisionInfo info, MailboxAddress recipient)
    {
        // Headers a sender could forge to look pre-routed are ours alone.
        foreach (var name in original.Headers.Where(h => h.Field.StartsWith("X-SmartMail-", StringComparison.OrdinalIgnoreCase))
                     .Select(h => h.Field).Distinct(StringComparer.OrdinalIgnoreCase).ToList())
        {
            original.Headers.RemoveAll(name);
        }
        original.ResentFrom.Clear();
        original.ResentTo.Clear();
        original.ResentFrom.Add(_from);
        original.ResentTo.Add(recipient);
        original.ResentDate = _time.GetUtcNow();
        original.ResentMessageId = MessageIdFor(delivery.DecisionId);
        AddSmartMailHeaders(original.Headers, delivery, info);
        return original;
    }

    private static void AddSmartMailHeaders(HeaderList headers, Delivery delivery, DecisionInfo info)
    {
        headers.Add("X-SmartMail-Decision-Id", delivery.DecisionId);
        headers.Add("X-SmartMail-Label", info.Label ?? "");
        headers.Add("X-SmartMail-Confidence", info.Confidence is { } c ? c.ToString("0.####", CultureInfo.InvariantCulture) : "");
        headers.Add("X-SmartMail-Destination", delivery.Destination);
    }

    private static MimeMessage? TryParse(byte[] raw)
    {
        try
        {
            using var stream = new MemoryStream(raw, writable: false);
            var message = MimeMessage.Load(stream);
            return message.Headers.Count == 0 ? null : message;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static X509Certificate2? LoadCa(string? file)
    {
        if (file is null)
        {
            return null;
        }
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new ArgumentException($"SMTP CaCertificateFile '{file}' is not a readable certificate: {ex.Message}", nameof(file), ex);
        }
    }

    private static SecureSocketOptions SocketOptions(SmtpForwardSecurity security) => security switch
    {
        SmtpForwardSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        SmtpForwardSecurity.StartTls => SecureSocketOptions.StartTls,
        _ => SecureSocketOptions.None,
    };

    private static bool IsTransport(Exception ex) => ex is SmtpCommandException or SmtpProtocolException or ServiceNotConnectedException
        or ServiceNotAuthenticatedException or SocketException or TimeoutException or IOException or MailKit.Security.AuthenticationException
        or SslHandshakeException or System.Security.Authentication.AuthenticationException or NotSupportedException
        or OperationCanceledException;

    private static string Describe(Exception ex) => ex switch
    {
        SmtpCommandException command => $"{command.ErrorCode} ({(int)command.StatusCode} {command.StatusCode})",
        SocketException socket => $"{socket.SocketErrorCode}",
        _ => ex.GetType().Name,
    };

    /// <summary>The OAuth2 sign-in of one relay's options: its token source (made once) and its last refusal.</summary>
    private sealed class RelaySignIn(SmtpForwardOptions options)
    {
        public const string Setting = "SmartMail:Smtp:OAuth2";

        private readonly Lock _gate = new();
        private OAuth2TokenSource? _tokens;
        private Held? _held;

        public OAuth2TokenSource Tokens()
        {
            lock (_gate)
            {
                // A refused construction (an expired certificate, no secret) throws SignInRefusedException, handled like any refusal.
                return _tokens ??= new OAuth2TokenSource(options.OAuth2, Setting);
            }
        }

        public Held? RefusedUntil(DateTimeOffset now)
        {
            lock (_gate)
            {
                return _held is { } held && now < held.Until ? held : null;
            }
        }

        /// <summary>Records a refusal; <see langword="true"/> when it is news (not one already recorded), so it is logged once.</summary>
        public bool Refuse(SignInRefusedException refusal, DateTimeOffset until)
        {
            lock (_gate)
            {
                var news = _held is null;
                _held = new Held(until, refusal.Message, refusal);
                return news;
            }
        }

        public void Accepted()
        {
            lock (_gate)
            {
                _held = null;
            }
        }
    }

    /// <summary>A refused sign-in, and until when deliveries fail without trying.</summary>
    private sealed record Held(DateTimeOffset Until, string Message, SignInRefusedException Refusal);

    private sealed record DecisionInfo(string? Label, double? Confidence, string? Reason, string? ModelVersion)
    {
        public static DecisionInfo Parse(string json) => Processing.DecisionRecord.Parse(json) is { } d
            ? new DecisionInfo(d.Label, d.Confidence, d.Reason, d.ModelVersion)
            : new DecisionInfo(null, null, null, null);
    }
}

internal static partial class SmtpLog
{
    [LoggerMessage(EventId = SmartMailEventId.SmtpSignInRefused, Level = LogLevel.Critical, Message = "SMTP relay {Host}: sign-in refused; SMTP routes wait (their mails stay in the source) until it is fixed: {Problem}")]
    public static partial void SignInRefused(ILogger logger, string host, string problem);
}
