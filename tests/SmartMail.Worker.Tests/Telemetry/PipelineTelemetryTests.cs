using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Telemetry;

/// <summary>
/// Spans and decision metrics from a real end-to-end run on the embedded default, once the processor calls the telemetry
/// API (the lines listed for the merge of the telemetry branch; until then these tests are skipped).
/// </summary>
public sealed class PipelineTelemetryTests(DefaultModelFixture model) : IntegrationTest(model)
{

    private static readonly HashSet<string> AllowedSpanTags =
    [
        "smartmail.mailbox", "smartmail.outcome", "smartmail.destination", "smartmail.decision.source", "smartmail.model.version",
        "smartmail.decision.id", "smartmail.fingerprint.prefix", "smartmail.decision.confidence", "error.type",
        "otel.scope.name", "otel.scope.version", "otel.status_code", "otel.status_description",
    ];

    [Fact]
    public async Task Host_EndToEndRun_OneTracePerMailWithEveryStep_TagsAllowedAndFreeOfPersonalData()
    {
        var ct = TestContext.Current.CancellationToken;
        var exported = new List<Activity>();
        using (var tracer = Sdk.CreateTracerProviderBuilder().AddSource("SmartMail").AddInMemoryExporter(exported).Build())
        {
            using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath);
            await TelemetryRun.RouteAllAsync(host, Data.FullName, ct);
            await host.StopAsync(ct);
            tracer.ForceFlush();
        }

        // Only this run's mails: other tests in this process route mail at the same time.
        var decisionIds = LedgerQuery.Rows(Path.Combine(Data.FullName, "state.db"), "SELECT decision_id FROM mail").ToHashSet(StringComparer.Ordinal);
        List<Activity> spans;
        lock (exported)
        {
            spans = [.. exported];
        }
        var mails = spans.Where(s => s.DisplayName == "smartmail.mail" && decisionIds.Contains(s.GetTagItem("smartmail.decision.id") as string ?? "")).ToList();
        Assert.Equal(TelemetryRun.Mails().Count, mails.Count);
        foreach (var mail in mails)
        {
            var steps = spans.Where(s => s.ParentSpanId == mail.SpanId).Select(s => s.DisplayName).ToHashSet(StringComparer.Ordinal);
            Assert.Superset(new HashSet<string>(["smartmail.fetch", "smartmail.extract", "smartmail.decide", "smartmail.deliver", "smartmail.acknowledge"]), steps);
            Assert.NotNull(mail.GetTagItem("smartmail.outcome"));
            Assert.NotNull(mail.GetTagItem("smartmail.destination"));
        }
        var traceIds = mails.Select(m => m.TraceId).ToHashSet();
        var tags = spans.Where(s => traceIds.Contains(s.TraceId)).SelectMany(s => s.TagObjects.Select(t => (s.DisplayName, t.Key, Value: t.Value?.ToString() ?? ""))).ToList();
        Assert.All(tags, t => Assert.True(AllowedSpanTags.Contains(t.Key), $"{t.DisplayName}: tag '{t.Key}' is not allowed"));
        Assert.All(tags.Where(t => t.Key is not "smartmail.decision.id" and not "smartmail.fingerprint.prefix"),
            t => Assert.False(TelemetryRun.HasPersonalData(t.Value), $"{t.DisplayName}: {t.Key}={t.Value}"));
        Assert.All(tags, t => Assert.DoesNotContain(TelemetryRun.Personal, p => t.Value.Contains(p, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Host_EndToEndRun_CountsDecisionsBySourceAndReportsTheBacklog()
    {
        var ct = TestContext.Current.CancellationToken;
        using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath);
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        var measured = new List<(string Instrument, long Value, Dictionary<string, string?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, t, _) =>
        {
            lock (measured)
            {
                measured.Add((i.Name, v, t.ToArray().ToDictionary(p => p.Key, p => p.Value?.ToString())));
            }
        });
        listener.Start();

        await TelemetryRun.RouteAllAsync(host, Data.FullName, ct);
        // The worker looks again at its next poll and finds the inbox empty.
        await Faults.FaultRig.WaitUntilAsync(() =>
        {
            listener.RecordObservableInstruments();
            lock (measured)
            {
                return measured.Any(m => m.Instrument == "smartmail.mailbox.backlog" && m.Tags["smartmail.mailbox"] == "drop" && m.Value == 0);
            }
        }, TimeSpan.FromSeconds(30), "the backlog reported empty");
        await host.StopAsync(ct);

        var decisions = measured.Where(m => m.Instrument == "smartmail.decisions").ToList();
        Assert.Equal(TelemetryRun.Mails().Count, decisions.Sum(d => d.Value));
        Assert.All(decisions, d => Assert.Contains(d.Tags["smartmail.decision.source"], new[] { "rule", "model", "manual", "quarantine", "duplicate" }));
        Assert.Contains(decisions, d => d.Tags["smartmail.model.version"] == Model.Bundle.Manifest.ModelVersion);
        Assert.All(measured.SelectMany(m => m.Tags.Values), v => Assert.False(TelemetryRun.HasPersonalData(v ?? ""), v));
    }
}
