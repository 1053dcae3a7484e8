using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Telemetry;

/// <summary>
/// Every instrument and every tag the real host produces during an end-to-end run on the embedded default, read with a
/// <see cref="MeterListener"/>: names follow the OpenTelemetry conventions and are documented, tags come from an
/// allow-list and carry no personal data.
/// </summary>
public sealed partial class MetricTagTests(DefaultModelFixture model) : IntegrationTest(model)
{
    // Configuration-derived, low-cardinality tags only (docs/operations.md, Telemetry).
    private static readonly HashSet<string> AllowedTags =
    [
        "smartmail.mailbox", "smartmail.outcome", "smartmail.destination", "smartmail.decision.source", "smartmail.model.version",
        "smartmail.mailbox.state", "error.type",
    ];

    [Fact]
    public async Task Host_EndToEndRun_EveryInstrumentDocumented_EveryTagAllowedAndFreeOfPersonalData()
    {
        var ct = TestContext.Current.CancellationToken;
        using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath);
        // Only this host's meter: tests running in parallel have meters of the same name.
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        var instruments = new ConcurrentDictionary<string, Instrument>();
        var measurements = new ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == WorkerMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                instruments[instrument.Name] = instrument;
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => measurements.Enqueue((i.Name, v, t.ToArray())));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => measurements.Enqueue((i.Name, v, t.ToArray())));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => measurements.Enqueue((i.Name, v, t.ToArray())));
        listener.Start();

        await TelemetryRun.RouteAllAsync(host, Data.FullName, ct);
        listener.RecordObservableInstruments();
        await host.StopAsync(ct);

        // Names: OpenTelemetry style (lower case, dot-separated, smartmail. namespace), UCUM units, each documented with its unit.
        var documented = DocumentedMetrics(File.ReadAllText(Path.Combine(Model.RepositoryRoot, "docs", "operations.md")));
        Assert.NotEmpty(instruments);
        foreach (var instrument in instruments.Values)
        {
            Assert.Matches("^smartmail(\\.[a-z_]+)+$", instrument.Name);
            Assert.False(string.IsNullOrEmpty(instrument.Unit), $"{instrument.Name} has no unit");
            Assert.False(string.IsNullOrEmpty(instrument.Description), $"{instrument.Name} has no description");
            Assert.True(documented.TryGetValue(instrument.Name, out var unit), $"{instrument.Name} is not in the Telemetry table of docs/operations.md");
            Assert.Equal(instrument.Unit, unit);
        }
        Assert.Empty(documented.Keys.Except(instruments.Keys));

        // What an end-to-end run must have measured.
        var mails = TelemetryRun.Mails().Count;
        Assert.Equal(mails, measurements.Where(m => m.Instrument == "smartmail.mails.processed").Sum(m => m.Value));
        Assert.All(measurements.Where(m => m.Instrument is "smartmail.mails.received" or "smartmail.mails.processed"),
            m => Assert.Contains(m.Tags, t => t.Key == "smartmail.mailbox" && (string?)t.Value == "drop"));
        Assert.Equal("s", instruments["smartmail.mail.duration"].Unit);
        Assert.All(measurements.Where(m => m.Instrument == "smartmail.mail.duration"), m => Assert.InRange(m.Value, 0, 60));
        Assert.Contains(measurements, m => m.Instrument == "smartmail.model.info"
            && m.Tags.Any(t => t.Key == "smartmail.model.version" && (string?)t.Value == Model.Bundle.Manifest.ModelVersion));
        Assert.Contains(measurements, m => m.Instrument == "smartmail.ledger.failed" && m.Value == 0);

        // Tags: allow-listed keys, short values, no CPR number, address or other personal data of the mails.
        var tags = measurements.SelectMany(m => m.Tags.Select(t => (m.Instrument, t.Key, Value: t.Value?.ToString() ?? ""))).ToList();
        Assert.NotEmpty(tags);
        Assert.All(tags, t => Assert.True(AllowedTags.Contains(t.Key), $"{t.Instrument}: tag '{t.Key}' is not allowed"));
        Assert.All(tags, t => Assert.InRange(t.Value.Length, 1, 100));
        Assert.All(tags, t => Assert.False(TelemetryRun.HasPersonalData(t.Value), $"{t.Instrument}: {t.Key}={t.Value}"));
        Assert.All(TelemetryRun.Mails(), m => Assert.DoesNotContain(tags, t => t.Value.Contains(Path.GetFileNameWithoutExtension(m.File), StringComparison.Ordinal)));
    }

    /// <summary>Metric name → unit, from the rows <c>| `name` | `unit` | ...</c> of the docs' Telemetry section.</summary>
    private static Dictionary<string, string> DocumentedMetrics(string operations)
    {
        var start = operations.IndexOf("## Telemetry", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/operations.md has no Telemetry section");
        var end = operations.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = operations[start..(end < 0 ? operations.Length : end)];
        return MetricRow().Matches(section).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^\| `(smartmail\.[a-z_.]+)` \| `([^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex MetricRow();
}
