using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using SmartMail.Worker.Options;
using SmartMail.Worker.Telemetry;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Worker.Tests.Telemetry;

/// <summary>The exporters for real: a Prometheus scrape over HTTP on loopback, OTLP/HTTP to a local receiver.</summary>
public sealed partial class ExportTests(DefaultModelFixture model) : IntegrationTest(model)
{
    [Fact]
    public async Task Host_PrometheusUrl_ScrapeAfterRouting_HasTheDocumentedMetricsWithValues_AndNoPersonalData()
    {
        var ct = TestContext.Current.CancellationToken;
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/metrics/";
        using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath, $"--SmartMail:Telemetry:PrometheusUrl={url}");

        await TelemetryRun.RouteAllAsync(host, Data.FullName, ct);
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri(url), ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        await host.StopAsync(ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        // Other tests in this process route mail through meters of the same name: at least this run's mails are counted.
        var mails = TelemetryRun.Mails().Count;
        Assert.True(Value(body, "smartmail_mails_received_total", "smartmail_mailbox=\"drop\"") >= mails, body);
        Assert.True(Value(body, "smartmail_mails_processed_total", "smartmail_mailbox=\"drop\"") >= mails, body);
        Assert.True(Value(body, "smartmail_mail_duration_seconds_count", "smartmail_mailbox=\"drop\"") >= mails, body);
        Assert.Equal(1, Value(body, "smartmail_model_info", $"smartmail_model_version=\"{Model.Bundle.Manifest.ModelVersion}\""));
        Assert.Equal(0, Value(body, "smartmail_ledger_failed", ""));
        Assert.Equal(0, Value(body, "smartmail_destinations_waiting", ""));
        Assert.Contains("# TYPE smartmail_mail_duration_seconds histogram", body, StringComparison.Ordinal);
        Assert.Contains("service_name=\"smartmail\"", body, StringComparison.Ordinal);
        Assert.False(TelemetryRun.HasPersonalData(body), body);
    }

    [Fact]
    public async Task Host_PrometheusPortTaken_FailsAtStartNamingTheSetting()
    {
        var ct = TestContext.Current.CancellationToken;
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath, $"--SmartMail:Telemetry:PrometheusUrl=http://127.0.0.1:{port}/metrics/");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(ct));

        Assert.StartsWith("SmartMail:Telemetry:PrometheusUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_PrometheusUrlNotLoopback_FailsAtStartNamingTheSetting()
    {
        using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath, "--SmartMail:Telemetry:PrometheusUrl=http://+:9464/metrics/");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(error.Failures, f => f.StartsWith("SmartMail:Telemetry:PrometheusUrl", StringComparison.Ordinal) && f.Contains("PrometheusAllowRemote", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    public async Task Host_OtlpEndpoint_ExportsMetricsAndTracesAsProtobufToTheReceiver(string trailing)
    {
        var ct = TestContext.Current.CancellationToken;
        using var receiver = new HttpReceiver(200);
        using var host = TelemetryRun.Build(Data.FullName, Model.ModelPath,
            $"--SmartMail:Telemetry:OtlpEndpoint=http://127.0.0.1:{receiver.Port}{trailing}",
            "--SmartMail:Telemetry:MetricExportInterval=00:00:00.500",
            "--SmartMail:Telemetry:ServiceName=smartmail-otlp-test");

        await TelemetryRun.RouteAllAsync(host, Data.FullName, ct);
        // A span through the API the processor uses; the host's tracer provider exports it.
        using (var mail = SmartMailTelemetry.StartMail("drop"))
        {
            Assert.NotNull(mail);
            using var step = SmartMailTelemetry.StartStep(MailStep.Deliver, mail);
            SmartMailTelemetry.SetMail(mail, "sm-0123456789abcdef01234567", new string('a', 64));
            SmartMailTelemetry.SetOutcome(mail, Processing.ProcessOutcome.Routed);
        }
        await host.StopAsync(ct); // flushes

        var requests = receiver.Requests.ToList();
        Assert.All(requests, r => Assert.Equal("POST", r.Method));
        Assert.All(requests, r => Assert.Equal("application/x-protobuf", r.Headers["Content-Type"]));
        var metrics = requests.Where(r => r.Path == "/v1/metrics").ToList();
        var traces = requests.Where(r => r.Path == "/v1/traces").ToList();
        Assert.NotEmpty(metrics);
        Assert.NotEmpty(traces);
        Assert.DoesNotContain(requests, r => r.Path is not "/v1/metrics" and not "/v1/traces");
        Assert.All(metrics.Concat(traces), r => Assert.NotEmpty(r.Body));
        // Protobuf keeps strings as UTF-8: names and resource are readable, personal data must be absent.
        var metricText = string.Join("\n", metrics.Select(r => Encoding.UTF8.GetString(r.Body)));
        var traceText = string.Join("\n", traces.Select(r => Encoding.UTF8.GetString(r.Body)));
        Assert.Contains("smartmail.mails.processed", metricText, StringComparison.Ordinal);
        Assert.Contains("smartmail-otlp-test", metricText, StringComparison.Ordinal);
        Assert.Contains("smartmail.mail", traceText, StringComparison.Ordinal);
        Assert.Contains("sm-0123456789abcdef01234567", traceText, StringComparison.Ordinal);
        Assert.False(TelemetryRun.HasPersonalData(metricText), "personal data in the OTLP metrics");
        Assert.DoesNotContain(TelemetryRun.Personal, p => traceText.Contains(p, StringComparison.Ordinal));
    }

    // The value of the sample of `name` whose labels contain `label` (all such samples added up).
    private static double Value(string body, string name, string label)
    {
        var samples = Sample().Matches(body).Where(m => m.Groups[1].Value == name && m.Groups[2].Value.Contains(label, StringComparison.Ordinal)).ToList();
        Assert.True(samples.Count > 0, $"no sample {name}{{{label}}} in:\n{body}");
        return samples.Sum(m => double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+\-]+|NaN)(?: \d+)?$", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
