using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker.Health;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Tests.Telemetry;

/// <summary>The instruments one by one, on a meter of their own, read with a <see cref="MeterListener"/>.</summary>
public sealed class WorkerMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, string?> Tags)> _measured = [];
    private readonly WorkerHealth _health = new();
    private readonly WorkerMetrics _metrics;
    private string? _model = "v1";

    public WorkerMetricsTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        _metrics = new WorkerMetrics(factory, _health, () => _model);
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
        _services.Dispose();
    }

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measured)
        {
            _measured.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString())));
        }
    }

    private List<(double Value, Dictionary<string, string?> Tags)> Of(string instrument) =>
        [.. _measured.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags))];

    [Fact]
    public void Handled_RecordsProcessedAndDurationInSeconds()
    {
        _metrics.Handled("post", "routed", 1500);

        var processed = Assert.Single(Of("smartmail.mails.processed"));
        var duration = Assert.Single(Of("smartmail.mail.duration"));
        Assert.Equal(1, processed.Value);
        Assert.Equal("post", processed.Tags["smartmail.mailbox"]);
        Assert.Equal("routed", processed.Tags["smartmail.outcome"]);
        Assert.Equal(1.5, duration.Value, 6);
    }

    [Fact]
    public void Decided_RecordsTheDecisionAndTheConfidenceWithSourceAndModelVersion()
    {
        _metrics.Decided("post", "model", "Byggesag", "v7", 0.75f);
        _metrics.Decided("post", "rule", "Skat", null, null);

        var decisions = Of("smartmail.decisions");
        Assert.Equal(2, decisions.Count);
        Assert.Contains(decisions, d => d.Tags["smartmail.decision.source"] == "model" && d.Tags["smartmail.destination"] == "Byggesag" && d.Tags["smartmail.model.version"] == "v7");
        Assert.Contains(decisions, d => d.Tags["smartmail.decision.source"] == "rule" && d.Tags["smartmail.model.version"] == "none");
        var confidence = Assert.Single(Of("smartmail.decision.confidence"));
        Assert.Equal(0.75, confidence.Value, 6);
        Assert.Equal("v7", confidence.Tags["smartmail.model.version"]);
    }

    [Fact]
    public void DeliveryFailed_TagsTheErrorTypeNeverTheMessage()
    {
        _metrics.DeliveryFailed("post", "Byggesag", new HttpRequestException("relay said: 550 jens.hansen@kommune.dk 010190-1234 unknown"));

        var failure = Assert.Single(Of("smartmail.delivery.failures"));
        Assert.Equal("System.Net.Http.HttpRequestException", failure.Tags["error.type"]);
        Assert.DoesNotContain(failure.Tags.Values, v => TelemetryRun.HasPersonalData(v ?? ""));
    }

    [Fact]
    public void PersonalDataInAConfiguredName_IsRedactedInTheTag()
    {
        _metrics.Seen("jens.hansen@kommune.dk");
        _metrics.Decided("post", "model", "Sag 010190-1234", "v1", null);

        var tags = _measured.SelectMany(m => m.Tags.Values).ToList();
        Assert.Equal(5, tags.Count(t => t is not null)); // mailbox; mailbox, source, destination, model version
        Assert.DoesNotContain(tags, t => TelemetryRun.HasPersonalData(t ?? ""));
    }

    [Fact]
    public void Observables_ReportBacklogWatcherStatesWaitingDestinationsLedgerAndModel()
    {
        var now = DateTimeOffset.UnixEpoch;
        _metrics.Listed("post", 42);
        _health.Working("post", now);
        _health.Standby("arkiv", "standing by: another instance holds the lease (generation 3)", now);
        _health.Reconnecting("borger", "reconnecting after IOException (failure 1)", now);
        _health.Stopped("skat", "the server refused the credentials", now);
        _health.DeliveryWaiting("Byggesag", 3, now, "HttpRequestException");
        _health.LedgerFailed("SqliteException");
        _model = "v2";

        _listener.RecordObservableInstruments();

        Assert.Equal(42, Assert.Single(Of("smartmail.mailbox.backlog")).Value);
        var states = Of("smartmail.mailbox.state");
        Assert.Equal(16, states.Count); // four watchers, four states each
        Assert.Equal(
            ["arkiv=standby", "borger=reconnecting", "post=working", "skat=stopped"],
            states.Where(s => s.Value == 1).Select(s => $"{s.Tags["smartmail.mailbox"]}={s.Tags["smartmail.mailbox.state"]}").Order(StringComparer.Ordinal));
        var failures = Assert.Single(Of("smartmail.destination.failures"));
        Assert.Equal(3, failures.Value);
        Assert.Equal("Byggesag", failures.Tags["smartmail.destination"]);
        Assert.Equal(1, Assert.Single(Of("smartmail.destinations.waiting")).Value);
        Assert.Equal(1, Assert.Single(Of("smartmail.ledger.failed")).Value);
        Assert.Equal("v2", Assert.Single(Of("smartmail.model.info")).Tags["smartmail.model.version"]);
    }

    [Fact]
    public void Observables_AllWell_ReportZeroesAndNoWaitingDestination()
    {
        _health.DeliveryWaiting("Byggesag", 1, DateTimeOffset.UnixEpoch, "HttpRequestException");
        _health.DeliveryResumed("Byggesag");
        _model = null;

        _listener.RecordObservableInstruments();

        Assert.Empty(Of("smartmail.destination.failures"));
        Assert.Equal(0, Assert.Single(Of("smartmail.destinations.waiting")).Value);
        Assert.Equal(0, Assert.Single(Of("smartmail.ledger.failed")).Value);
        Assert.Empty(Of("smartmail.model.info"));
    }
}
