using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartMail.Worker.Health;
using SmartMail.Worker.Telemetry;

namespace SmartMail.Worker.Processing;

/// <summary>
/// The worker's metrics (meter <c>SmartMail.Worker</c>), named and tagged in the style of the OpenTelemetry semantic
/// conventions and documented in <c>docs/operations.md</c> (Telemetry). Tags carry only configuration-derived,
/// low-cardinality values — mailbox, destination, outcome, decision source, model version, error type — each cleaned by
/// <see cref="TagValues"/>; never a subject, sender, address, file name, fingerprint or text.
/// </summary>
public sealed class WorkerMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "SmartMail.Worker";

    private static readonly string[] MailboxStates = ["working", "standby", "reconnecting", "stopped"];

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _processed;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _decisions;
    private readonly Histogram<double> _confidence;
    private readonly Counter<long> _deliveryFailures;
    private readonly ConcurrentDictionary<string, long> _backlog = new(StringComparer.Ordinal);
    private readonly WorkerHealth? _health;
    private readonly Func<string?>? _modelVersion;

    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">The factory; <see langword="null"/> for a private meter.</param>
    /// <param name="health">Read at each collection for the mailbox, destination and ledger gauges; none when <see langword="null"/>.</param>
    /// <param name="modelVersion">Returns the model version in force, for <c>smartmail.model.info</c>; none when <see langword="null"/>.</param>
    public WorkerMetrics(IMeterFactory? meterFactory = null, WorkerHealth? health = null, Func<string?>? modelVersion = null)
    {
        _health = health;
        _modelVersion = modelVersion;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _received = _meter.CreateCounter<long>("smartmail.mails.received", "{mail}",
            "Mails taken from a source for processing; a mail tried again (after a deferral or a crash) counts again");
        _processed = _meter.CreateCounter<long>("smartmail.mails.processed", "{mail}", "Mails finished, by outcome");
        _duration = _meter.CreateHistogram("smartmail.mail.duration", "s", "Time from taking a mail to acknowledging it",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _decisions = _meter.CreateCounter<long>("smartmail.decisions", "{decision}",
            "Routing decisions recorded, by what decided, destination and model version");
        _confidence = _meter.CreateHistogram("smartmail.decision.confidence", "1", "The model's confidence in each decision it made",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99] });
        _deliveryFailures = _meter.CreateCounter<long>("smartmail.delivery.failures", "{failure}",
            "Deliveries that failed, by destination and error type");
        _meter.CreateObservableGauge("smartmail.mailbox.backlog", ObserveBacklog, "{mail}",
            "Mails waiting in each source at its last look");
        _meter.CreateObservableGauge("smartmail.mailbox.state", ObserveMailboxStates, "1",
            "1 for the state each IMAP watcher is in (working, standby for another instance's lease, reconnecting, stopped), 0 for the others");
        _meter.CreateObservableGauge("smartmail.destination.failures", ObserveDestinationFailures, "{failure}",
            "Failed deliveries in a row of each destination whose deliveries wait (absent when none wait)");
        _meter.CreateObservableUpDownCounter("smartmail.destinations.waiting", ObserveWaitingCount, "{destination}",
            "Destinations whose deliveries wait (SMTP relay or webhook unavailable); their mail stays in its source");
        _meter.CreateObservableGauge("smartmail.ledger.failed", ObserveLedger, "1",
            "1 when the ledger could not record and the worker stopped taking mail, else 0");
        _meter.CreateObservableGauge("smartmail.model.info", ObserveModel, "1", "1, tagged with the version of the model in force");
    }

    /// <summary>A mail was taken from <paramref name="mailbox"/>.</summary>
    /// <param name="mailbox">The mailbox.</param>
    internal void Seen(string mailbox) => _received.Add(1, new KeyValuePair<string, object?>(SmartMailTelemetry.MailboxTag, TagValues.Clean(mailbox)));

    /// <summary>A mail of <paramref name="mailbox"/> is finished.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="outcome">The outcome, lower case.</param>
    /// <param name="milliseconds">Time from taking it to acknowledging it.</param>
    internal void Handled(string mailbox, string outcome, double milliseconds)
    {
        var tags = new TagList { { SmartMailTelemetry.MailboxTag, TagValues.Clean(mailbox) }, { SmartMailTelemetry.OutcomeTag, TagValues.Clean(outcome) } };
        _processed.Add(1, tags);
        _duration.Record(milliseconds / 1000, tags);
    }

    /// <summary>The model decided with <paramref name="confidence"/> (no tags; <see cref="Decided"/> records it with them).</summary>
    /// <param name="confidence">The confidence.</param>

    /// <summary>A decision was recorded.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="source">What decided: rule, model, manual, quarantine or duplicate (the audit row's source).</param>
    /// <param name="destination">The destination.</param>
    /// <param name="modelVersion">The model version, when the model was asked.</param>
    /// <param name="confidence">The model's confidence, when it has one.</param>
    internal void Decided(string mailbox, string source, string destination, string? modelVersion, float? confidence)
    {
        var version = TagValues.Clean(modelVersion);
        _decisions.Add(1, new TagList
        {
            { SmartMailTelemetry.MailboxTag, TagValues.Clean(mailbox) },
            { SmartMailTelemetry.DecisionSourceTag, TagValues.Clean(source) },
            { SmartMailTelemetry.DestinationTag, TagValues.Clean(destination) },
            { SmartMailTelemetry.ModelVersionTag, version },
        });
        if (confidence is { } c)
        {
            _confidence.Record(c, new TagList { { SmartMailTelemetry.DecisionSourceTag, TagValues.Clean(source) }, { SmartMailTelemetry.ModelVersionTag, version } });
        }
    }

    /// <summary>A delivery to <paramref name="destination"/> failed.</summary>
    /// <param name="mailbox">The mailbox the mail came from.</param>
    /// <param name="destination">The destination.</param>
    /// <param name="error">The error (only its type is recorded).</param>
    internal void DeliveryFailed(string mailbox, string destination, Exception error) =>
        _deliveryFailures.Add(1, new TagList
        {
            { SmartMailTelemetry.MailboxTag, TagValues.Clean(mailbox) },
            { SmartMailTelemetry.DestinationTag, TagValues.Clean(destination) },
            { SmartMailTelemetry.ErrorTypeTag, error.GetType().FullName ?? error.GetType().Name },
        });

    /// <summary><paramref name="mailbox"/> had <paramref name="count"/> mails waiting when it was last listed.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="count">Mails listed.</param>
    internal void Listed(string mailbox, int count) => _backlog[TagValues.Clean(mailbox)] = count;

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ObserveBacklog() =>
        [.. _backlog.Select(b => new Measurement<long>(b.Value, new KeyValuePair<string, object?>(SmartMailTelemetry.MailboxTag, b.Key)))];

    private IEnumerable<Measurement<int>> ObserveMailboxStates()
    {
        if (_health is null)
        {
            return [];
        }
        var measurements = new List<Measurement<int>>();
        foreach (var (name, mailbox) in _health.Mailboxes)
        {
            var state = StateOf(mailbox);
            var mailboxTag = new KeyValuePair<string, object?>(SmartMailTelemetry.MailboxTag, TagValues.Clean(name));
            measurements.AddRange(MailboxStates.Select(s =>
                new Measurement<int>(s == state ? 1 : 0, mailboxTag, new KeyValuePair<string, object?>(SmartMailTelemetry.MailboxStateTag, s))));
        }
        return measurements;
    }

    // WorkerHealth tells working from standby only by its description: a watcher that works reports "connected".
    private static string StateOf(MailboxHealth mailbox) => mailbox.Status switch
    {
        HealthStatus.Healthy => mailbox.Description == "connected" ? "working" : "standby",
        HealthStatus.Degraded => "reconnecting",
        _ => "stopped",
    };

    private IEnumerable<Measurement<long>> ObserveDestinationFailures() =>
        _health is null
            ? []
            : [.. _health.WaitingDestinations.Select(d => new Measurement<long>(d.Value.Failures,
                new KeyValuePair<string, object?>(SmartMailTelemetry.DestinationTag, TagValues.Clean(d.Key))))];

    private long ObserveWaitingCount() => _health?.WaitingDestinations.Count ?? 0;

    private int ObserveLedger() => _health?.LedgerFailure is null ? 0 : 1;

    private IEnumerable<Measurement<int>> ObserveModel()
    {
        string? version;
        try
        {
            version = _modelVersion?.Invoke();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or Core.Classification.ModelBundleException)
        {
            // At a collection during start or stop, or with a model that does not load (the host reports that itself).
            return [];
        }
        return version is null ? [] : [new Measurement<int>(1, new KeyValuePair<string, object?>(SmartMailTelemetry.ModelVersionTag, TagValues.Clean(version)))];
    }
}
