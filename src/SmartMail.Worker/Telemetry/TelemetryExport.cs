using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;

namespace SmartMail.Worker.Telemetry;

/// <summary>
/// Exports SmartMail's metrics (meter <see cref="WorkerMetrics.MeterName"/>) and spans (source
/// <see cref="SmartMailTelemetry.ActivitySourceName"/>) as <see cref="SmartMailOptions.Telemetry"/> says: over OTLP and on
/// a Prometheus scrape endpoint. The providers are built when the host starts, after the settings were validated, and
/// shut down (flushing what is buffered) when it stops; registered before the watchers, this starts before and stops
/// after them. A one-shot run that does not start the host calls <see cref="Start"/> and disposes the host at the end.
/// </summary>
public sealed class TelemetryExport(SmartMailOptions options) : IHostedService, IDisposable
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private MeterProvider? _meters;
    private TracerProvider? _tracer;

    /// <summary>Whether anything is exported.</summary>
    public bool Enabled => options.Telemetry.OtlpEnabled || options.Telemetry.PrometheusEnabled;

    /// <summary>Builds the providers (once): binds the Prometheus endpoint, starts the OTLP exporters.</summary>
    /// <exception cref="InvalidOperationException">The Prometheus endpoint cannot listen; the message names <c>SmartMail:Telemetry:PrometheusUrl</c>.</exception>
    public void Start()
    {
        lock (_gate)
        {
            if (_meters is not null || _tracer is not null || !Enabled)
            {
                return;
            }
            var settings = options.Telemetry;
            var resource = ResourceBuilder.CreateEmpty()
                .AddService(settings.ServiceName, serviceVersion: typeof(TelemetryExport).Assembly.GetName().Version?.ToString(), autoGenerateServiceInstanceId: true);
            if (settings.Metrics)
            {
                var builder = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(WorkerMetrics.MeterName);
                if (settings.OtlpEnabled)
                {
                    builder.AddOtlpExporter((exporter, reader) =>
                    {
                        Configure(exporter, settings, "v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)settings.MetricExportInterval.TotalMilliseconds;
                        reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                    });
                }
                var url = settings.PrometheusUrl;
                if (settings.PrometheusEnabled && url is not null)
                {
                    string prefix = url;
                    builder.AddPrometheusHttpListener(listener =>
                    {
                        // The configured prefix is used as it is (as HealthUrl is): also "+" and "*" hosts.
                        listener.ConfigureHttpListener = (_, http) =>
                        {
                            http.Prefixes.Clear();
                            http.Prefixes.Add(prefix);
                        };
                        listener.ScrapeResponseCacheDurationMilliseconds = 0;
                    });
                }
                try
                {
                    _meters = builder.Build();
                }
                catch (InvalidOperationException ex)
                {
                    throw new InvalidOperationException(
                        $"{SmartMailOptions.SectionName}:Telemetry:PrometheusUrl: cannot listen on '{url}' ({ex.InnerException?.Message ?? ex.Message}).", ex);
                }
            }
            if (settings.Traces && settings.OtlpEnabled)
            {
                _tracer = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource)
                    .AddSource(SmartMailTelemetry.ActivitySourceName)
                    .AddOtlpExporter(exporter => Configure(exporter, settings, "v1/traces"))
                    .Build();
            }
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        Shutdown();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public void Dispose() => Shutdown();

    private void Shutdown()
    {
        lock (_gate)
        {
            // Shutdown exports what is buffered (the last spans, a final metrics push), bounded in time.
            _tracer?.Shutdown((int)ShutdownTimeout.TotalMilliseconds);
            _tracer?.Dispose();
            _tracer = null;
            _meters?.Shutdown((int)ShutdownTimeout.TotalMilliseconds);
            _meters?.Dispose();
            _meters = null;
        }
    }

    private static void Configure(OtlpExporterOptions exporter, TelemetryOptions settings, string signalPath)
    {
        var grpc = settings.OtlpProtocol == "grpc";
        exporter.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        // An endpoint set in code is used as it is; like OTEL_EXPORTER_OTLP_ENDPOINT, ours is the base for http/protobuf.
        exporter.Endpoint = grpc ? new Uri(settings.OtlpEndpoint!) : new Uri(settings.OtlpEndpoint!.TrimEnd('/') + "/" + signalPath);
        if (!string.IsNullOrWhiteSpace(settings.OtlpHeaders))
        {
            exporter.Headers = settings.OtlpHeaders;
        }
    }
}
