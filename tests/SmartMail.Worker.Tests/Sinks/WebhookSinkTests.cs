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
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), request.Body));
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

        Assert.False(Assert.Single(receiver.Requests).Headers.ContainsKey("X-SmartMail-Signature"));
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
        Assert.Single(requests.Select(r => r.Headers["X-SmartMail-Signature"]).Distinct());
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
