using System.ComponentModel.DataAnnotations;
using System.Net;

namespace SmartMail.Worker.Options;

/// <summary>
/// OpenTelemetry export (section <c>SmartMail:Telemetry</c>): metrics and traces over OTLP, metrics on a Prometheus scrape
/// endpoint. Everything is off until <see cref="OtlpEndpoint"/> or <see cref="PrometheusUrl"/> is set. What is exported
/// never carries personal data: see the Telemetry section of <c>docs/operations.md</c>.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>The OTLP protocol values.</summary>
    public static readonly IReadOnlyList<string> Protocols = ["grpc", "http/protobuf"];

    /// <summary>
    /// The OTLP collector: the base address (e.g. <c>http://127.0.0.1:4318</c> for <c>http/protobuf</c>, to which
    /// <c>/v1/metrics</c> and <c>/v1/traces</c> are appended, or <c>http://127.0.0.1:4317</c> for <c>grpc</c>).
    /// </summary>
    /// <value>The default is none: no OTLP export.</value>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP transport: <c>http/protobuf</c> or <c>grpc</c>.</summary>
    /// <value>The default is <c>http/protobuf</c>.</value>
    public string OtlpProtocol { get; set; } = "http/protobuf";

    /// <summary>
    /// Headers sent with every OTLP request, <c>key=value</c> pairs separated by commas (an API key: give it through the
    /// environment, <c>SMARTMAIL_SmartMail__Telemetry__OtlpHeaders</c>, not in appsettings.json).
    /// </summary>
    /// <value>The default is none.</value>
    public string? OtlpHeaders { get; set; }

    /// <summary>
    /// Where the Prometheus text format is served, an HttpListener prefix such as <c>http://127.0.0.1:9464/metrics/</c>.
    /// A host other than loopback (<c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>) needs <see cref="PrometheusAllowRemote"/>.
    /// </summary>
    /// <value>The default is none: no scrape endpoint.</value>
    public string? PrometheusUrl { get; set; }

    /// <summary>
    /// Whether <see cref="PrometheusUrl"/> may listen on other addresses than loopback. The endpoint has no authentication
    /// and names mailboxes and destinations: open it to the network only behind a firewall that admits the Prometheus server.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool PrometheusAllowRemote { get; set; }

    /// <summary>Whether metrics are exported (OTLP and Prometheus).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Metrics { get; set; } = true;

    /// <summary>Whether traces (one span per mail and step) are exported over OTLP.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Traces { get; set; } = true;

    /// <summary>The <c>service.name</c> resource attribute.</summary>
    /// <value>The default is <c>smartmail</c>.</value>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9._\-]{1,64}$", ErrorMessage = "must be 1-64 letters, digits, '.', '_' or '-'")]
    public string ServiceName { get; set; } = "smartmail";

    /// <summary>How often metrics are pushed over OTLP.</summary>
    /// <value>The default is 60 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether OTLP export is configured.</summary>
    public bool OtlpEnabled => !string.IsNullOrWhiteSpace(OtlpEndpoint);

    /// <summary>Whether the Prometheus endpoint is configured.</summary>
    public bool PrometheusEnabled => !string.IsNullOrWhiteSpace(PrometheusUrl);

    /// <summary>Checks the settings beyond their annotations; every message names the setting.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="prefix">The section, e.g. <c>SmartMail:Telemetry</c>.</param>
    /// <returns>The failures; empty when valid.</returns>
    public static IEnumerable<string> Validate(TelemetryOptions options, string prefix)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        foreach (var result in results)
        {
            yield return $"{prefix}:{string.Join(",", result.MemberNames)}: {result.ErrorMessage}";
        }
        if (!Protocols.Contains(options.OtlpProtocol, StringComparer.Ordinal))
        {
            yield return $"{prefix}:OtlpProtocol: must be grpc or http/protobuf, not '{options.OtlpProtocol}'.";
        }
        if (options.OtlpEnabled && !(Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out var otlp) && otlp.Scheme is "http" or "https"))
        {
            yield return $"{prefix}:OtlpEndpoint: must be an absolute http(s) URL, e.g. http://127.0.0.1:4318.";
        }
        if (options.OtlpHeaders is { Length: > 0 } headers && headers.Split(',').Any(h => h.IndexOf('=', StringComparison.Ordinal) <= 0))
        {
            yield return $"{prefix}:OtlpHeaders: must be key=value pairs separated by commas.";
        }
        if (options.PrometheusEnabled)
        {
            if (PrometheusPrefix(options.PrometheusUrl!) is not { } host)
            {
                yield return $"{prefix}:PrometheusUrl: must be an http:// prefix ending in '/', e.g. http://127.0.0.1:9464/metrics/.";
            }
            else if (!IsLoopback(host) && !options.PrometheusAllowRemote)
            {
                yield return $"{prefix}:PrometheusUrl: '{host}' is not a loopback address; the endpoint has no authentication, so set " +
                    "PrometheusAllowRemote=true to serve it to the network (behind a firewall), or use 127.0.0.1.";
            }
            if (!options.Metrics)
            {
                yield return $"{prefix}:Metrics: is false, but PrometheusUrl is set; remove one of them.";
            }
        }
    }

    /// <summary>The host of an HttpListener prefix <c>http://host:port/path/</c> (<c>+</c> and <c>*</c> allowed), if it is one.</summary>
    /// <param name="url">The prefix.</param>
    /// <returns>The host, or <see langword="null"/> when <paramref name="url"/> is no such prefix.</returns>
    internal static string? PrometheusPrefix(string url)
    {
        if (!url.StartsWith("http://", StringComparison.Ordinal) || !url.EndsWith('/'))
        {
            return null;
        }
        var authority = url["http://".Length..].Split('/')[0];
        var host = authority.StartsWith('[') ? authority[..(authority.IndexOf(']', StringComparison.Ordinal) + 1)] : authority.Split(':')[0];
        var probe = host is "+" or "*" ? url.Replace("//" + host, "//wildcard", StringComparison.Ordinal) : url;
        return host.Length > 0 && Uri.TryCreate(probe, UriKind.Absolute, out var uri) && uri.Port > 0 ? host : null;
    }

    internal static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
