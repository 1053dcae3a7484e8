using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Sinks;

public sealed class WebhookSinkTests
{
    private const string DecisionId = "sm-fedcba9876543210fedcba98";
    private const string Secret = "s3cret-for-tests";

    private const string DecisionJson = """
        {"decisionId":"sm-fedcba9876543210fedcba98","label":"sci.space","kle":"00.01.00","confidence":0.91,
         "top":[{"label":"sci.space","score":0.91}],"threshold":0.5,"modelVersion":"m1","rule":null,
         "reason":"above threshold","destination":"space-desk"}
        """;

    private static readonly byte[] Raw = [.. Encoding.UTF8.GetBytes(Mails.Space(7)), 0xC3, 0xA6, 0x00, 0xFF];

    private static Delivery Delivery(string destination = "space-desk") =>
        new(new MailKey("inbox", "INBOX", 1, "7"), DecisionId, destination, Raw, DecisionJson);

    private static WebhookSink Sink(HttpClient http, Func<string, Uri?> urlFor, string? secret = null, TimeSpan? timeout = null) =>
        new(http, new WebhookOptions
        {
            Secret = secret,
            AllowPlaintext = true,
            MaxAttempts = 3,
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            Timeout = timeout ?? TimeSpan.FromSeconds(3),
        }, urlFor);

    private static HttpClient Client() => new(new SocketsHttpHandler { AllowAutoRedirect = false });

    [Fact]
    public async Task DeliverAsync_ReceiverUp_PostsDecisionAndRawWithIdempotencyKeyAndSignature()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(200);
        using var http = Client();

        await Sink(http, d => d == "space-desk" ? receiver.Url("hooks/space") : null, Secret).DeliverAsync(Delivery(), ct);

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/hooks/space", request.Path);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(DecisionId, request.Headers["Idempotency-Key"]);
        var timestamp = long.Parse(request.Headers["X-SmartMail-Timestamp"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(timestamp, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret),
            (byte[])[.. Encoding.ASCII.GetBytes(request.Headers["X-SmartMail-Timestamp"] + "."), .. request.Body]));
        Assert.Equal(expected, request.Headers["X-SmartMail-Signature"]);

        using var body = JsonDocument.Parse(request.Body);
        var decision = body.RootElement.GetProperty("decision");
        Assert.Equal(JsonValueKind.Object, decision.ValueKind);
        Assert.Equal(DecisionId, decision.GetProperty("decisionId").GetString());
        Assert.Equal("sci.space", decision.GetProperty("label").GetString());
        Assert.Equal(0.91, decision.GetProperty("confidence").GetDouble(), 6);
        var message = body.RootElement.GetProperty("message");
        Assert.Equal(Raw, message.GetProperty("rawBase64").GetBytesFromBase64());
        Assert.Equal(SmartMail.Core.Mime.MailExtractor.Fingerprint(Raw), message.GetProperty("fingerprint").GetString());
        Assert.Equal(Raw.Length, message.GetProperty("size").GetInt32());
    }

    [Fact]
    public async Task DeliverAsync_NoSecret_SendsNoSignature()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(204);
        using var http = Client();

        await Sink(http, _ => receiver.Url("")).DeliverAsync(Delivery(), ct);

        var request = Assert.Single(receiver.Requests);
        Assert.False(request.Headers.ContainsKey("X-SmartMail-Signature"));
        Assert.False(request.Headers.ContainsKey("X-SmartMail-Timestamp"));
    }

    [Fact]
    public async Task DeliverAsync_503Twice_RetriesWithTheSameIdempotencyKeyAndSucceeds()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(503, 503, 200);
        using var http = Client();

        await Sink(http, _ => receiver.Url("hook"), Secret).DeliverAsync(Delivery(), ct);

        var requests = receiver.Requests.ToList();
        Assert.Equal(3, requests.Count);
        Assert.All(requests, r => Assert.Equal(DecisionId, r.Headers["Idempotency-Key"]));
        Assert.All(requests, r => Assert.Equal(requests[0].Body, r.Body));
        // Each try is signed with its own timestamp, and each verifies.
        Assert.All(requests, r => Assert.True(DocumentedReceiverCheck.Verify(Secret, r.Headers["X-SmartMail-Timestamp"],
            r.Headers["X-SmartMail-Signature"], r.Body, DateTimeOffset.UtcNow)));
    }

    [Fact]
    public async Task DeliverAsync_ReceiverFollowingTheDocumentedCheck_AcceptsAFreshRequest_RejectsReplayedOrAlteredOnes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(200);
        using var http = Client();
        await Sink(http, _ => receiver.Url("hook"), Secret).DeliverAsync(Delivery(), ct);
        var captured = Assert.Single(receiver.Requests);
        var timestamp = captured.Headers[WebhookSink.TimestampHeader];
        var signature = captured.Headers[WebhookSink.SignatureHeader];
        var now = DateTimeOffset.UtcNow;

        var fresh = DocumentedReceiverCheck.Verify(Secret, timestamp, signature, captured.Body, now);
        var replayedLater = DocumentedReceiverCheck.Verify(Secret, timestamp, signature, captured.Body, now.AddMinutes(6));
        byte[] altered = [.. captured.Body];
        altered[^3] ^= 1;
        var alteredBody = DocumentedReceiverCheck.Verify(Secret, timestamp, signature, altered, now);
        var newerTimestamp = (long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture) + 400).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var restamped = DocumentedReceiverCheck.Verify(Secret, newerTimestamp, signature, captured.Body, now.AddMinutes(6));
        var wrongSecret = DocumentedReceiverCheck.Verify("another-secret", timestamp, signature, captured.Body, now);

        Assert.True(fresh);
        Assert.False(replayedLater);
        Assert.False(alteredBody);
        Assert.False(restamped);
        Assert.False(wrongSecret);
    }

    [Fact]
    public async Task DeliverAsync_ShellExampleOfTheDocs_ComputesTheSameSignature()
    {
        var ct = TestContext.Current.CancellationToken;
        if (!File.Exists("/usr/bin/openssl") || !File.Exists("/bin/sh"))
        {
            Assert.Skip("openssl or /bin/sh is not installed");
        }
        using var receiver = new HttpReceiver(200);
        using var http = Client();
        await Sink(http, _ => receiver.Url("hook"), Secret).DeliverAsync(Delivery(), ct);
        var captured = Assert.Single(receiver.Requests);
        using var dir = new SinkTempDir();
        var bodyFile = Path.Combine(dir.Path, "body.json");
        File.WriteAllBytes(bodyFile, captured.Body);

        // The openssl line of docs/operations.md ("Webhook receivers").
        var start = new System.Diagnostics.ProcessStartInfo("/bin/sh",
            ["-c", """{ printf '%s.' "$TS"; cat "$BODY"; } | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1"""])
        {
            RedirectStandardOutput = true,
            Environment = { ["TS"] = captured.Headers[WebhookSink.TimestampHeader], ["BODY"] = bodyFile, ["SECRET"] = Secret },
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(captured.Headers[WebhookSink.SignatureHeader], "sha256=" + output.Trim());
    }

    [Fact]
    public async Task DeliverAsync_PlainHttpWithoutAllowPlaintext_IsRefusedWithoutPosting()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(200);
        using var http = Client();
        var sink = new WebhookSink(http, new WebhookOptions { Secret = Secret }, _ => receiver.Url("hook"));

        var ex = await Assert.ThrowsAsync<IOException>(() => sink.DeliverAsync(Delivery(), ct));

        Assert.Contains("AllowPlaintext", ex.Message, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task DeliverAsync_AlwaysUnavailable_ThrowsHttpRequestExceptionAfterMaxAttempts()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(500, 429, 408, 200);
        using var http = Client();

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => Sink(http, _ => receiver.Url("hook")).DeliverAsync(Delivery(), ct));

        Assert.Equal(3, receiver.Requests.Count);
        Assert.Equal(System.Net.HttpStatusCode.RequestTimeout, ex.StatusCode);
    }

    [Fact]
    public async Task DeliverAsync_400_ThrowsIOExceptionWithoutRetry()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(400, 200);
        using var http = Client();

        var ex = await Assert.ThrowsAsync<IOException>(() => Sink(http, _ => receiver.Url("hook")).DeliverAsync(Delivery(), ct));

        Assert.Single(receiver.Requests);
        Assert.Contains("400", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_ReceiverDown_ThrowsTransientFailure()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = Client();
        var url = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}/hook");

        var ex = await Record.ExceptionAsync(() => Sink(http, _ => url).DeliverAsync(Delivery(), ct));

        Assert.True(ex is HttpRequestException or IOException, $"got {ex?.GetType().Name ?? "no exception"}");
    }

    [Fact]
    public async Task DeliverAsync_SlowFirstAnswer_TimesOutAndRetries()
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(async n =>
        {
            if (n == 1)
            {
                await Task.Delay(1500, CancellationToken.None);
            }
            return 200;
        });
        using var http = Client();

        await Sink(http, _ => receiver.Url("hook"), timeout: TimeSpan.FromMilliseconds(300)).DeliverAsync(Delivery(), ct);

        Assert.Equal(2, receiver.Requests.Count);
    }

    [Fact]
    public async Task DeliverAsync_UnknownDestination_ThrowsIOExceptionNamingIt()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = Client();

        var ex = await Assert.ThrowsAsync<IOException>(() => Sink(http, _ => null).DeliverAsync(Delivery("nowhere"), ct));

        Assert.Contains("'nowhere'", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>
/// The receiver-side check exactly as docs/operations.md ("Webhook receivers") prints it; keep the two in step.
/// </summary>
internal static class DocumentedReceiverCheck
{
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromMinutes(5);

    public static bool Verify(string secret, string? timestampHeader, string? signatureHeader, byte[] body, DateTimeOffset now)
    {
        if (!long.TryParse(timestampHeader, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var unix)
            || signatureHeader is null || !signatureHeader.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return false;
        }
        var age = now - DateTimeOffset.FromUnixTimeSeconds(unix);
        if (age > ReplayWindow || age < -ReplayWindow)
        {
            return false; // too old (a replay) or from the future
        }
        var signed = Encoding.ASCII.GetBytes(timestampHeader + ".").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        byte[] given;
        try
        {
            given = Convert.FromHexString(signatureHeader["sha256=".Length..]);
        }
        catch (FormatException)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}

internal sealed class SinkTempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("smartmail-sinks-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
