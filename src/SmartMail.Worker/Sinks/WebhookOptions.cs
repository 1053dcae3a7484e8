namespace SmartMail.Worker.Sinks;

/// <summary>Options of <see cref="WebhookSink"/>.</summary>
public sealed class WebhookOptions
{
    /// <summary>The HMAC-SHA256 key of the <c>X-SmartMail-Signature</c> header; no signature when empty.</summary>
    public string? Secret { get; set; }

    /// <summary>Tries per delivery (at least 1), including the first.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The wait before the first retry; it doubles before each further retry.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two tries, also the cap on a receiver's Retry-After.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The time-out of each try.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
}
