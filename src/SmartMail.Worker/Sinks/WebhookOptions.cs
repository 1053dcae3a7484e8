namespace SmartMail.Worker.Sinks;

/// <summary>Options of <see cref="WebhookSink"/>.</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// The HMAC-SHA256 key of the <c>X-SmartMail-Signature</c> header, which covers <c>X-SmartMail-Timestamp</c> and
    /// the body; no signature when empty.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>Must be true for a route's <c>Url</c> to be plain <c>http</c>: an explicit opt-in to unencrypted posts (test receivers only).</summary>
    /// <value>The default is <see langword="false"/>: only <c>https</c> URLs are accepted.</value>
    public bool AllowPlaintext { get; set; }

    /// <summary>Tries per delivery (at least 1), including the first.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The wait before the first retry; it doubles before each further retry.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two tries, also the cap on a receiver's Retry-After.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The time-out of each try.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What is wrong with these options and the webhook URLs of the routes, one message per problem, each naming the setting.</summary>
    /// <param name="section">The configuration path of these options, e.g. <c>SmartMail:Webhook</c>.</param>
    /// <param name="urls">Each webhook route's URL with its configuration path (e.g. <c>SmartMail:Routes:sci.space:Url</c>).</param>
    /// <returns>The problems; empty when none.</returns>
    public IEnumerable<string> Validate(string section, IEnumerable<(string Setting, Uri? Url)> urls)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(urls);
        if (MaxAttempts < 1)
        {
            yield return $"{section}:MaxAttempts: must be at least 1.";
        }
        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < TimeSpan.Zero)
        {
            yield return $"{section}:InitialBackoff/MaxBackoff: must not be negative.";
        }
        if (Timeout <= TimeSpan.Zero)
        {
            yield return $"{section}:Timeout: must be positive.";
        }
        foreach (var (setting, url) in urls)
        {
            if (url is { IsAbsoluteUri: true } && url.Scheme == Uri.UriSchemeHttp && !AllowPlaintext)
            {
                yield return $"{setting}: plain http sends mail unencrypted; use https, or set {section}:AllowPlaintext=true only for a test receiver.";
            }
        }
    }
}
