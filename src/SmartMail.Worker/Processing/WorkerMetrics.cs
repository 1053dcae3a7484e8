using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SmartMail.Worker.Processing;

/// <summary>The worker's metrics (meter <c>SmartMail.Worker</c>). Tags are mailbox, source and destination — never content.</summary>
public sealed class WorkerMetrics : IDisposable
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "SmartMail.Worker";

    private readonly Meter _meter;
    private readonly Counter<long> _seen;
    private readonly Counter<long> _outcomes;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _confidence;

    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">The factory; <see langword="null"/> for a private meter.</param>
    public WorkerMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _seen = _meter.CreateCounter<long>("smartmail.mails.seen", "{mail}", "Mails taken from a source");
        _outcomes = _meter.CreateCounter<long>("smartmail.mails.handled", "{mail}", "Mails handled, by outcome (routed, manual, quarantined, duplicate)");
        _duration = _meter.CreateHistogram<double>("smartmail.mail.duration", "ms", "Time from fetch to acknowledgement");
        _confidence = _meter.CreateHistogram<double>("smartmail.decision.confidence", "1", "Model confidence of each decision");
    }

    internal void Seen(string mailbox) => _seen.Add(1, new KeyValuePair<string, object?>("mailbox", mailbox));

    internal void Handled(string mailbox, string outcome, double milliseconds)
    {
        var tags = new TagList { { "mailbox", mailbox }, { "outcome", outcome } };
        _outcomes.Add(1, tags);
        _duration.Record(milliseconds, tags);
    }

    internal void Confidence(float confidence) => _confidence.Record(confidence);

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
