using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SmartMail.Core.Routing;

namespace SmartMail.Worker.Options;

/// <summary>The worker's configuration (section <c>SmartMail</c>).</summary>
public sealed class SmartMailOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "SmartMail";

    /// <summary>Where the state store (<c>state.db</c>) and audit file live.</summary>
    /// <value>The default is <c>.smartmail</c> under the working directory.</value>
    [Required]
    public string DataDirectory { get; set; } = ".smartmail";

    /// <summary>The model bundle (.zip).</summary>
    /// <value>The default is the shipped Danish demo model, <c>models/kle-demo/smartmail-kle-demo.zip</c>.</value>
    [Required]
    public string ModelPath { get; set; } = "models/kle-demo/smartmail-kle-demo.zip";

    /// <summary>The drop-folder inbox; defaults to <c>DataDirectory/inbox</c>.</summary>
    public string? Inbox { get; set; }

    /// <summary>The journal (drop folder for the case system); defaults to <c>DataDirectory/journal</c>.</summary>
    public string? Journal { get; set; }

    /// <summary>How many times processing of a mail may fail (or crash) before it goes to quarantine; an unavailable destination does not count.</summary>
    /// <value>The default is 3.</value>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// The first wait before a destination that was unavailable (SMTP relay or webhook refusing connections, timing out,
    /// answering 4xx/5xx as transient) is tried again; it doubles with each further failure. Mail for it waits in its source
    /// meanwhile and does not count towards <see cref="MaxAttempts"/>.
    /// </summary>
    /// <value>The default is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan DeliveryRetryBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between two tries of an unavailable destination.</summary>
    /// <value>The default is 5 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "06:00:00")]
    public TimeSpan DeliveryRetryMaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest mail processed; larger mail is quarantined unread.</summary>
    /// <value>The default is 50 MB.</value>
    [Range(1, 2048)]
    public int MaxMessageMegabytes { get; set; } = 50;

    /// <summary>How often the inbox is looked at when watching.</summary>
    /// <value>The default is 2 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Destination of mail the model is not sure about.</summary>
    [Required]
    public string ManualTriageDestination { get; set; } = "_manual-triage";

    /// <summary>Destination of mail that cannot be processed.</summary>
    [Required]
    public string QuarantineDestination { get; set; } = "_quarantine";

    /// <summary>Whether every audit row is also appended to <c>DataDirectory/audit.jsonl</c>.</summary>
    public bool AuditJsonLines { get; set; } = true;

    /// <summary>IMAP mailboxes to watch; when empty, the drop-folder inbox is watched (the embedded default).</summary>
    [ValidateEnumeratedItems]
    public List<Imap.ImapMailboxOptions> Mailboxes { get; set; } = [];

    /// <summary>Explicit rules, tried before the model.</summary>
    [ValidateEnumeratedItems]
    public List<RoutingRule> Rules { get; set; } = [];

    /// <summary>Case-number rules: a case number in the subject routes to the department that owns its series (after <see cref="Rules"/>).</summary>
    [ValidateEnumeratedItems]
    public List<CaseNumberRule> CaseNumbers { get; set; } = [];

    /// <summary>Whether a reply to a mail SmartMail routed (or to a message seen in a department folder) follows its thread.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool FollowThreads { get; set; } = true;

    /// <summary>Where each label goes and its KLE number; a label without a route goes to a destination named after it.</summary>
    public Dictionary<string, RouteOptions> Routes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where the health report is served as JSON, e.g. <c>http://127.0.0.1:8081/health/</c>; none when empty.</summary>
    public string? HealthUrl { get; set; }

    /// <summary>
    /// Whether <see cref="HealthUrl"/> may listen on other addresses than loopback. The report has no authentication and names
    /// mailboxes and destinations: open it to the network only behind a firewall that admits the monitoring host.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool HealthAllowRemote { get; set; }

    /// <summary>The SMTP relay used by <c>Smtp</c> routes.</summary>
    public Sinks.SmtpForwardOptions? Smtp { get; set; }

    /// <summary>The learning loop: stored examples, corrections, retraining.</summary>
    [ValidateObjectMembers]
    public Learning.LearningOptions Learning { get; set; } = new();

    /// <summary>Settings of <c>Webhook</c> routes.</summary>
    public Sinks.WebhookOptions Webhook { get; set; } = new();

    /// <summary>OpenTelemetry metrics and traces: OTLP export and a Prometheus scrape endpoint (off by default).</summary>
    [ValidateObjectMembers]
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>The web app served while watching (<c>SmartMail:Web</c>): on loopback by default, sign-in by one-time link or OpenID Connect.</summary>
    public SmartMail.Web.WebOptions Web { get; set; } = new();

    /// <summary>Extraction bounds and switches (<c>SmartMail:Extraction</c>): attachment reading, its bytes, pages, characters and time.</summary>
    [ValidateObjectMembers]
    public Core.Mime.ExtractionOptions Extraction { get; set; } = new();

    /// <summary>Where the state lives (<c>SmartMail:State</c>): SQLite in the data directory (the default) or a shared PostgreSQL database.</summary>
    public State.StateOptions State { get; set; } = new();

    /// <summary>The inbox in force.</summary>
    public string InboxPath => Inbox ?? Path.Combine(DataDirectory, "inbox");

    /// <summary>The journal in force.</summary>
    public string JournalPath => Journal ?? Path.Combine(DataDirectory, "journal");
}

/// <summary>How a route is delivered (<see cref="RouteOptions.Kind"/>; in settings by name, e.g. <c>"Kind": "Smtp"</c>).</summary>
public enum RouteKind
{
    /// <summary>A folder of the IMAP mailbox the mail came from; the journal folder for the drop-folder inbox.</summary>
    Default,

    /// <summary>The journal drop folder (.eml + decision .json).</summary>
    Folder,

    /// <summary>Forwarded by SMTP to the route's address.</summary>
    Smtp,

    /// <summary>POSTed to the route's URL.</summary>
    Webhook,
}

/// <summary>Where one label goes.</summary>
public sealed class RouteOptions
{
    /// <summary>The destination name (journal folder, department); defaults to the label.</summary>
    public string? Destination { get; set; }

    /// <summary>
    /// How it is delivered: <c>Default</c> (a folder of the IMAP mailbox the mail came from; the journal folder for the
    /// drop-folder inbox), <c>Folder</c> (the journal drop folder), <c>Smtp</c> (forward to <see cref="Address"/>) or
    /// <c>Webhook</c> (POST to <see cref="Url"/>).
    /// </summary>
    public RouteKind Kind { get; set; } = RouteKind.Default;

    /// <summary>The department address for <c>Smtp</c> routes.</summary>
    public string? Address { get; set; }

    /// <summary>The case system endpoint for <c>Webhook</c> routes.</summary>
    public Uri? Url { get; set; }

    /// <summary>The KLE subject number journalized with it, e.g. <c>02.34.02</c>.</summary>
    [RegularExpression(@"^\d{2}(\.\d{2}){0,2}$", ErrorMessage = "a KLE number looks like 02, 02.34 or 02.34.02")]
    public string? Kle { get; set; }
}
