using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Sinks;

public sealed class SmtpForwardSinkTests
{
    private const string DecisionId = "sm-0123456789abcdef01234567";

    private const string DecisionJson = """
        {"decisionId":"sm-0123456789abcdef01234567","mailbox":"inbox","fingerprint":"ab","messageId":"space-1@example.org",
         "source":"model","label":"sci.space","kle":"00.01.00","confidence":0.8734,"top":[{"label":"sci.space","score":0.8734}],
         "threshold":0.5,"modelVersion":"m-2025-01","rule":null,"reason":"model confidence 0.87 is above the threshold 0.50",
         "destination":"space-desk","decidedUtc":"2025-01-01T00:00:00Z"}
        """;

    private static readonly byte[] Original = System.Text.Encoding.UTF8.GetBytes("""
        From: Ann <ann@example.org>
        To: post@example.dk
        Subject: Shuttle launch question
        Message-ID: <space-1@example.org>
        X-SmartMail-Label: forged
        Date: Wed, 01 Jan 2025 10:00:00 +0000
        MIME-Version: 1.0
        Content-Type: text/plain; charset=utf-8

        When is the next shuttle launch to the space station?
        """.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n");

    private static Delivery Delivery(byte[]? raw = null, string destination = "space-desk") =>
        new(new MailKey("inbox", "INBOX", 1, "42"), DecisionId, destination, raw ?? Original, DecisionJson);

    private static SmtpForwardSink Sink(int port, SmtpForwardMode mode) => new(
        new SmtpForwardOptions
        {
            Host = "127.0.0.1",
            Port = port,
            Security = SmtpForwardSecurity.None,
            AllowPlaintext = true,
            From = "SmartMail <smartmail@example.dk>",
            Timeout = TimeSpan.FromSeconds(3),
            Mode = mode,
        },
        destination => destination == "space-desk" ? "space@example.dk" : null);

    private static MimeMessage Parse(byte[] raw) => MimeMessage.Load(new MemoryStream(raw));

    [Fact]
    public async Task DeliverAsync_AttachMode_SendsExplanationWithOriginalAsRfc822()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await SmtpReceiver.StartAsync(ct);

        await Sink(receiver.Port, SmtpForwardMode.Attach).DeliverAsync(Delivery(), ct);

        var received = Assert.Single(receiver.Received);
        Assert.Equal("smartmail@example.dk", received.From);
        Assert.Equal(["space@example.dk"], received.To);
        var message = Parse(received.Raw);
        Assert.Equal(DecisionId + "@smartmail.invalid", message.MessageId);
        Assert.Equal(DecisionId, message.Headers["X-SmartMail-Decision-Id"]);
        Assert.Equal("sci.space", message.Headers["X-SmartMail-Label"]);
        Assert.Equal("0.8734", message.Headers["X-SmartMail-Confidence"]);
        Assert.Equal("smartmail@example.dk", message.From.Mailboxes.Single().Address);
        Assert.Equal("space@example.dk", message.To.Mailboxes.Single().Address);
        Assert.Contains("Routed by SmartMail: label sci.space (confidence 0.873), model confidence 0.87 is above the threshold 0.50",
            message.TextBody, StringComparison.Ordinal);

        var attached = Assert.Single(message.Attachments.OfType<MessagePart>());
        Assert.Equal("message/rfc822", attached.ContentType.MimeType);
        var inner = attached.Message;
        Assert.NotNull(inner);
        Assert.Equal("Shuttle launch question", inner.Subject);
        Assert.Equal("space-1@example.org", inner.MessageId);
        Assert.Equal("forged", inner.Headers["X-SmartMail-Label"]);
        Assert.Equal("When is the next shuttle launch to the space station?\r\n", inner.TextBody!.ReplaceLineEndings("\r\n"));
        using var copy = new MemoryStream();
        var dos = FormatOptions.Default.Clone();
        dos.NewLineFormat = NewLineFormat.Dos;
        await inner.WriteToAsync(dos, copy, ct);
        Assert.Equal(Original, copy.ToArray());
    }

    [Fact]
    public async Task DeliverAsync_ResendMode_ResendsOriginalWithResentAndDecisionHeaders()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await SmtpReceiver.StartAsync(ct);

        await Sink(receiver.Port, SmtpForwardMode.Resend).DeliverAsync(Delivery(), ct);

        var received = Assert.Single(receiver.Received);
        Assert.Equal("smartmail@example.dk", received.From);
        Assert.Equal(["space@example.dk"], received.To);
        var message = Parse(received.Raw);
        Assert.Equal("space-1@example.org", message.MessageId);
        Assert.Equal("Shuttle launch question", message.Subject);
        Assert.Equal("ann@example.org", message.From.Mailboxes.Single().Address);
        Assert.Equal(DecisionId + "@smartmail.invalid", message.ResentMessageId);
        Assert.Equal("smartmail@example.dk", message.ResentFrom.Mailboxes.Single().Address);
        Assert.Equal("space@example.dk", message.ResentTo.Mailboxes.Single().Address);
        Assert.NotEqual(DateTimeOffset.MinValue, message.ResentDate);
        Assert.Equal(DecisionId, message.Headers["X-SmartMail-Decision-Id"]);
        Assert.Equal("0.8734", message.Headers["X-SmartMail-Confidence"]);
        // The sender's own X-SmartMail-Label is dropped: only SmartMail's header remains.
        Assert.Equal(["sci.space"], message.Headers.Where(h => h.Id == HeaderId.Unknown && h.Field == "X-SmartMail-Label").Select(h => h.Value));
        // The test receiver (SmtpServer) hands over the data without the CRLF before the final ".".
        Assert.Equal("When is the next shuttle launch to the space station?", message.TextBody!.TrimEnd());
    }

    [Fact]
    public async Task DeliverAsync_SameDecisionTwice_TwoMessagesWithTheSameMessageId()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await SmtpReceiver.StartAsync(ct);
        var attach = Sink(receiver.Port, SmtpForwardMode.Attach);
        var resend = Sink(receiver.Port, SmtpForwardMode.Resend);

        await attach.DeliverAsync(Delivery(), ct);
        await attach.DeliverAsync(Delivery(), ct);
        await resend.DeliverAsync(Delivery(), ct);
        await resend.DeliverAsync(Delivery(), ct);

        // At-least-once (RFC 1047): a retry is a second copy; the receiver de-duplicates on the id.
        var messages = receiver.Received.Select(r => Parse(r.Raw)).ToList();
        Assert.Equal(4, messages.Count);
        Assert.Equal(messages[0].MessageId, messages[1].MessageId);
        Assert.Equal(messages[2].ResentMessageId, messages[3].ResentMessageId);
        Assert.Equal(messages[0].MessageId, messages[2].ResentMessageId);
    }

    [Fact]
    public async Task DeliverAsync_ReceiverDown_ThrowsDeliveryUnavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        var sink = Sink(LoopbackPort.Free(), SmtpForwardMode.Attach);

        var ex = await Assert.ThrowsAsync<DeliveryUnavailableException>(() => sink.DeliverAsync(Delivery(), ct));

        Assert.NotNull(ex.InnerException);
        Assert.Contains("space-desk", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("shuttle", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task DeliverAsync_UnknownDestination_ThrowsIOExceptionNamingIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await SmtpReceiver.StartAsync(ct);

        var ex = await Assert.ThrowsAsync<IOException>(
            () => Sink(receiver.Port, SmtpForwardMode.Attach).DeliverAsync(Delivery(destination: "nowhere"), ct));

        Assert.Contains("'nowhere'", ex.Message, StringComparison.Ordinal);
        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task DeliverAsync_ResendModeWithNonMime_AttachesTheRawBytes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await SmtpReceiver.StartAsync(ct);
        var raw = System.Text.Encoding.ASCII.GetBytes(Mails.NotMime);

        await Sink(receiver.Port, SmtpForwardMode.Resend).DeliverAsync(Delivery(raw), ct);

        var message = Parse(Assert.Single(receiver.Received).Raw);
        Assert.Equal(DecisionId, message.Headers["X-SmartMail-Decision-Id"]);
        Assert.Equal(DecisionId + "@smartmail.invalid", message.MessageId);
        var part = Assert.Single(message.Attachments.OfType<MimePart>());
        using var content = new MemoryStream();
        await part.Content!.DecodeToAsync(content, ct);
        Assert.Equal(raw, content.ToArray());
    }

    [Fact]
    public void Constructor_PlaintextWithoutOptIn_Throws()
    {
        var options = new SmtpForwardOptions { Host = "127.0.0.1", Port = 25, Security = SmtpForwardSecurity.None, From = "a@example.dk" };

        Assert.Throws<ArgumentException>(() => new SmtpForwardSink(options, _ => null));
    }

    [Fact]
    public void MessageIdFor_DecisionId_IsDeterministic()
    {
        Assert.Equal("sm-1@smartmail.invalid", SmtpForwardSink.MessageIdFor("sm-1"));
        Assert.Equal("a_b@smartmail.invalid", SmtpForwardSink.MessageIdFor("a<b"));
    }
}

public sealed class SmtpForwardSinkTlsTests
{
    private const string DecisionJson = """{"decisionId":"sm-tls-1","label":"sci.space","confidence":0.9,"reason":"test"}""";

    private static Delivery Delivery() => new(new MailKey("inbox", "INBOX", 1, "1"), "sm-tls-1", "space-desk",
        System.Text.Encoding.UTF8.GetBytes("From: a@example.org\r\nTo: b@example.org\r\nSubject: TLS\r\n\r\nHello\r\n"), DecisionJson);

    private static SmtpForwardSink Sink(int port, SmtpForwardSecurity security, string? caFile) => new(
        new SmtpForwardOptions
        {
            Host = "localhost",
            Port = port,
            Security = security,
            CaCertificateFile = caFile,
            From = "smartmail@example.dk",
            Timeout = TimeSpan.FromSeconds(5),
        },
        _ => "space@example.dk");

    [Theory]
    [InlineData(SmtpForwardSecurity.SslOnConnect)]
    [InlineData(SmtpForwardSecurity.StartTls)]
    public async Task DeliverAsync_RelayCertificateFromAPrivateCa_IsTrustedWithCaCertificateFile_RefusedWithout(SmtpForwardSecurity security)
    {
        var ct = TestContext.Current.CancellationToken;
        using var pki = ThrowawayCa.Create();
        using var dir = new SinkTempDir();
        var caFile = Path.Combine(dir.Path, "ca.pem");
        File.WriteAllText(caFile, pki.Ca.ExportCertificatePem());
        await using var receiver = await SmtpReceiver.StartAsync(ct, pki.Server, implicitTls: security == SmtpForwardSecurity.SslOnConnect);

        var refused = await Assert.ThrowsAsync<DeliveryUnavailableException>(() => Sink(receiver.Port, security, null).DeliverAsync(Delivery(), ct));
        Assert.Empty(receiver.Received);
        await Sink(receiver.Port, security, caFile).DeliverAsync(Delivery(), ct);

        Assert.IsType<MailKit.Security.SslHandshakeException>(refused.InnerException);
        Assert.Equal("sm-tls-1", MimeMessage.Load(new MemoryStream(Assert.Single(receiver.Received).Raw), ct).Headers["X-SmartMail-Decision-Id"]);
    }

    [Fact]
    public async Task DeliverAsync_CaFileOfAnotherCa_IsRefused()
    {
        var ct = TestContext.Current.CancellationToken;
        using var pki = ThrowawayCa.Create();
        using var other = ThrowawayCa.Create();
        using var dir = new SinkTempDir();
        var caFile = Path.Combine(dir.Path, "other-ca.pem");
        File.WriteAllText(caFile, other.Ca.ExportCertificatePem());
        await using var receiver = await SmtpReceiver.StartAsync(ct, pki.Server, implicitTls: true);

        await Assert.ThrowsAsync<DeliveryUnavailableException>(() => Sink(receiver.Port, SmtpForwardSecurity.SslOnConnect, caFile).DeliverAsync(Delivery(), ct));

        Assert.Empty(receiver.Received);
    }
}

/// <summary>A CA made for one test and a server certificate for localhost / 127.0.0.1 signed by it.</summary>
internal sealed class ThrowawayCa : IDisposable
{
    private ThrowawayCa(X509Certificate2 ca, X509Certificate2 server)
    {
        Ca = ca;
        Server = server;
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public static ThrowawayCa Create()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=SmartMail test CA " + Guid.NewGuid().ToString("N")[..8], caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var caWithKey = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = serverRequest.Create(caWithKey, now.AddMinutes(-5), now.AddDays(1), Guid.NewGuid().ToByteArray()[..8]);
        using var withKey = signed.CopyWithPrivateKey(serverKey);
        // Through PKCS#12 so SslStream can use the key on every platform.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        var ca = X509CertificateLoader.LoadCertificate(caWithKey.Export(X509ContentType.Cert));
        return new ThrowawayCa(ca, server);
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
    }
}
