using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SmartMail.Core.Mime;

namespace SmartMail.Worker.Sinks;

/// <summary>
/// Delivers routed mail to a case system by HTTP POST of one JSON document per mail to the destination's URL:
/// <c>{ "decision": {…the decision record…}, "message": { "decisionId", "destination", "mailbox", "fingerprint",
/// "size", "rawBase64" } }</c>, with <c>Idempotency-Key: DECISION-ID</c> (the same on every try and every retry of
/// the mail, so the receiver de-duplicates) and, when a secret is configured, <c>X-SmartMail-Timestamp: UNIX-SECONDS</c>
/// (the time of this try) and <c>X-SmartMail-Signature: sha256=HEX</c>, the HMAC-SHA256 of <c>TIMESTAMP.BODY</c> (the
/// timestamp's decimal digits, a '.', then the exact body bytes), as Stripe, Svix and Slack sign. A receiver checks the
/// signature and refuses a timestamp older than its replay window (docs/operations.md, "Webhook receivers"), so a
/// captured request cannot be replayed later; within the window it de-duplicates on the decision id.
/// </summary>
/// <remarks>
/// One delivery makes up to <see cref="WebhookOptions.MaxAttempts"/> tries with exponential backoff on 5xx, 408,
/// 429, connection failures and time-outs; then it throws <see cref="HttpRequestException"/> so the processor
/// defers the mail. Any other non-2xx answer is permanent for this body and throws <see cref="IOException"/> at once.
/// Each try is signed afresh with its own timestamp, so a retry after a long backoff is still inside the window.
/// A plain <c>http</c> URL is refused unless <see cref="WebhookOptions.AllowPlaintext"/> is set.
/// The <see cref="HttpClient"/> should not follow redirects (a POST redirected by 301/302 becomes a GET).
/// Exception messages name the destination and status, never the URL (it may hold a token) or the mail.
/// </remarks>
public sealed class WebhookSink : IMailSink
{
    /// <summary>The idempotency header (draft-ietf-httpapi-idempotency-key-header).</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The signature header: <c>sha256=</c> and the lower-case hex HMAC-SHA256 of <c>TIMESTAMP.BODY</c>.</summary>
    public const string SignatureHeader = "X-SmartMail-Signature";

    /// <summary>The timestamp header: the Unix time in seconds at which the try was signed, in decimal.</summary>
    public const string TimestampHeader = "X-SmartMail-Timestamp";

    private readonly HttpClient _http;
    private readonly WebhookOptions _options;
    private readonly Func<string, Uri?> _urlFor;
    private readonly TimeProvider _time;
    private readonly byte[]? _secret;

    /// <summary>Creates the sink.</summary>
    /// <param name="http">The HTTP client (owned by the caller, e.g. from IHttpClientFactory).</param>
    /// <param name="options">Retries, time-out and signing secret.</param>
    /// <param name="urlFor">The routing table: destination name → absolute http(s) URL, or null when the destination has none.</param>
    /// <param name="time">The clock of the backoff waits and time-outs (default: the system clock).</param>
    /// <exception cref="ArgumentException">The options are out of range.</exception>
    public WebhookSink(HttpClient http, WebhookOptions options, Func<string, Uri?> urlFor, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(urlFor);
        if (options.MaxAttempts < 1)
        {
            throw new ArgumentException("Webhook MaxAttempts must be at least 1.", nameof(options));
        }
        if (options.InitialBackoff < TimeSpan.Zero || options.MaxBackoff < TimeSpan.Zero)
        {
            throw new ArgumentException("Webhook backoff must not be negative.", nameof(options));
        }
        if (options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Webhook Timeout must be positive.", nameof(options));
        }
        _http = http;
        _options = options;
        _urlFor = urlFor;
        _time = time ?? TimeProvider.System;
        _secret = string.IsNullOrEmpty(options.Secret) ? null : Encoding.UTF8.GetBytes(options.Secret);
    }

    /// <summary>The signature header value of a body sent at <paramref name="timestamp"/>.</summary>
    /// <param name="secret">The shared secret.</param>
    /// <param name="timestamp">The <see cref="TimestampHeader"/> value: Unix seconds.</param>
    /// <param name="body">The exact body bytes.</param>
    /// <returns><c>sha256=</c> and the lower-case hex HMAC-SHA256 of <c>TIMESTAMP.BODY</c>.</returns>
    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Sign(Encoding.UTF8.GetBytes(secret), timestamp, body);
    }

    /// <summary>The JSON body posted for a delivery.</summary>
    /// <param name="delivery">The delivery.</param>
    /// <returns>UTF-8 JSON.</returns>
    /// <exception cref="IOException">The decision record is not a JSON object.</exception>
    public static byte[] BodyFor(Delivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        JsonDocument decision;
        try
        {
            decision = JsonDocument.Parse(delivery.DecisionJson);
        }
        catch (JsonException ex)
        {
            throw new IOException($"The decision record of {delivery.DecisionId} is not valid JSON.", ex);
        }
        using (decision)
        {
            if (decision.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new IOException($"The decision record of {delivery.DecisionId} is not a JSON object.");
            }
            using var buffer = new MemoryStream(delivery.Raw.Length * 4 / 3 + 4096);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WritePropertyName("decision");
                decision.RootElement.WriteTo(writer);
                writer.WriteStartObject("message");
                writer.WriteString("decisionId", delivery.DecisionId);
                writer.WriteString("destination", delivery.Destination);
                writer.WriteString("mailbox", delivery.Key.Mailbox);
                writer.WriteString("fingerprint", MailExtractor.Fingerprint(delivery.Raw));
                writer.WriteNumber("size", delivery.Raw.Length);
                writer.WriteBase64String("rawBase64", delivery.Raw);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            return buffer.ToArray();
        }
    }

    /// <inheritdoc />
    /// <exception cref="IOException">No URL is known for the destination, or the receiver refused the mail for good (4xx).</exception>
    /// <exception cref="HttpRequestException">Every try failed with a transient failure.</exception>
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var url = _urlFor(delivery.Destination)
            ?? throw new IOException($"No webhook URL is configured for destination '{delivery.Destination}'.");
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new IOException($"The webhook URL configured for destination '{delivery.Destination}' is not an absolute http(s) URL.");
        }
        if (url.Scheme == Uri.UriSchemeHttp && !_options.AllowPlaintext)
        {
            throw new IOException($"The webhook URL configured for destination '{delivery.Destination}' is plain http; use https, or set Webhook:AllowPlaintext=true only for a test receiver.");
        }
        var body = BodyFor(delivery);

        var backoff = _options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan? retryAfter = null;
            Exception failure;
            try
            {
                using var timeout = new CancellationTokenSource(_options.Timeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, delivery.DecisionId);
                if (_secret is not null)
                {
                    var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();
                    request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
                    request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(_secret, timestamp, body));
                }
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
                var status = (int)response.StatusCode;
                if (status is >= 200 and <= 299)
                {
                    return;
                }
                var what = $"webhook for destination '{delivery.Destination}' answered {status.ToString(CultureInfo.InvariantCulture)} ({response.StatusCode})";
                if (!IsTransient(response.StatusCode))
                {
                    throw new IOException($"The {what} to decision {delivery.DecisionId}; not retried.");
                }
                retryAfter = RetryAfter(response);
                failure = new HttpRequestException(what, null, response.StatusCode);
            }
            catch (HttpRequestException ex)
            {
                failure = ex;
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new TimeoutException($"The webhook for destination '{delivery.Destination}' did not answer within {_options.Timeout}.", ex);
            }

            if (attempt >= _options.MaxAttempts)
            {
                throw new HttpRequestException(
                    $"Webhook delivery of decision {delivery.DecisionId} to destination '{delivery.Destination}' failed "
                    + $"{attempt.ToString(CultureInfo.InvariantCulture)} times; last: {failure.Message}",
                    failure, (failure as HttpRequestException)?.StatusCode);
            }
            var wait = retryAfter is { } after && after > backoff ? after : backoff;
            await Task.Delay(wait > _options.MaxBackoff ? _options.MaxBackoff : wait, _time, cancellationToken);
            backoff *= 2;
        }
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }
        return header?.Date is { } date ? date - _time.GetUtcNow() : null;
    }

    private static string Sign(byte[] secret, long timestamp, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        hmac.AppendData(Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "."));
        hmac.AppendData(body);
        return "sha256=" + Convert.ToHexStringLower(hmac.GetHashAndReset());
    }
}
