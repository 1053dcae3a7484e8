using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using SmartMail.Worker.Processing;

namespace SmartMail.Cli.Tests.Ops;

/// <summary>
/// The monitoring files under deploy/monitoring: the alert rules pass <c>promtool check rules</c> and their own
/// <c>promtool test rules</c>; the Grafana dashboard parses, queries only metrics the worker exports (their Prometheus
/// names derived from the instruments <see cref="WorkerMetrics"/> creates) and shows every one of them.
/// </summary>
public sealed partial class MonitoringFilesTests
{
    private static string Monitoring => Path.Combine(CliProcess.RepositoryRoot, "deploy", "monitoring");

    [Fact]
    public async Task AlertRules_PromtoolCheckRules_Succeeds()
    {
        var result = await PromtoolAsync("check", "rules", "smartmail-alerts.yml");

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("SUCCESS", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AlertRules_PromtoolTestRules_AlertsFireWhenAndOnlyWhenSpecified()
    {
        var result = await PromtoolAsync("test", "rules", "smartmail-alerts.test.yml");

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Contains("SUCCESS", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AlertRules_UseOnlyExportedMetrics()
    {
        var used = MetricsUsedIn(File.ReadAllText(Path.Combine(Monitoring, "smartmail-alerts.yml")));

        Assert.NotEmpty(used);
        Assert.Empty(used.Except(ExportedSeries()));
    }

    [Fact]
    public void Dashboard_ParsesAndQueriesOnlyExportedMetrics_ShowingEveryOne()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Monitoring, "smartmail-dashboard.json")));
        var root = dashboard.RootElement;
        var panels = root.GetProperty("panels").EnumerateArray().ToList();
        var queries = panels.SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!)
            .Concat(root.GetProperty("templating").GetProperty("list").EnumerateArray()
                .Where(v => v.TryGetProperty("definition", out _)).Select(v => v.GetProperty("definition").GetString()!))
            .ToList();

        var used = queries.SelectMany(MetricsUsedIn).ToHashSet(StringComparer.Ordinal);

        Assert.Equal("smartmail-overview", root.GetProperty("uid").GetString());
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.Empty(used.Except(ExportedSeries()));
        var shown = Instruments().Where(i => !used.Any(u => u.StartsWith(PrometheusBase(i), StringComparison.Ordinal))).Select(i => i.Name);
        Assert.Empty(shown); // every instrument has a panel
    }

    private static List<Instrument> Instruments()
    {
        var instruments = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == WorkerMetrics.MeterName)
                {
                    lock (instruments)
                    {
                        instruments.Add(instrument);
                    }
                }
            },
        };
        using var metrics = new WorkerMetrics();
        listener.Start(); // reports the instruments that exist already
        lock (instruments)
        {
            return [.. instruments.DistinctBy(i => i.Name)];
        }
    }

    // The OpenTelemetry Prometheus exporter's names: dots become underscores, seconds get a suffix, curly-brace units and
    // "1" none; counters end in _total, histograms are _bucket/_sum/_count; an up-down counter is a gauge.
    private static string PrometheusBase(Instrument instrument) => instrument.Name.Replace('.', '_') + instrument.Unit switch
    {
        "s" => "_seconds",
        "By" => "_bytes",
        "1" or null or "" => "",
        { } unit when unit.StartsWith('{') => "",
        var unit => throw new InvalidOperationException($"unit '{unit}' of {instrument.Name}: add its Prometheus suffix here"),
    };

    private static HashSet<string> ExportedSeries() =>
        Instruments().SelectMany(i =>
        {
            var name = PrometheusBase(i);
            var type = i.GetType().GetGenericTypeDefinition();
            return type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? [name + "_total"]
                : type == typeof(Histogram<>) ? new[] { name + "_bucket", name + "_sum", name + "_count" }
                : [name];
        }).ToHashSet(StringComparer.Ordinal);

    // Metric names in PromQL: a smartmail_ name followed by a selector, a range or a closing parenthesis; label names in
    // by/without/on/ignoring clauses, in label_values' second argument and in annotations' templates are not metrics.
    private static IEnumerable<string> MetricsUsedIn(string promql) =>
        MetricName().Matches(LabelValuesLabel().Replace(Grouping().Replace(promql, ""), ")")).Select(m => m.Value).Distinct(StringComparer.Ordinal);

    [GeneratedRegex(@"(?<=^label_values\(.*),\s*\w+\s*\)\s*$")]
    private static partial Regex LabelValuesLabel();

    [GeneratedRegex(@"smartmail_[a-z_]+(?=\s*[\{\[\)])")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"\b(by|without|on|ignoring)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    private static async Task<(int ExitCode, string Output)> PromtoolAsync(params string[] args)
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(promtool is null, "promtool is not installed: apt-get install prometheus (.ci/run installs it).");
        var psi = new ProcessStartInfo(promtool!, args) { WorkingDirectory = Monitoring, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }
}
