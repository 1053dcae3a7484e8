using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Health;

/// <summary>
/// Serves the health report as JSON on <see cref="SmartMailOptions.HealthUrl"/> (e.g. <c>http://127.0.0.1:8081/health/</c>):
/// 200 when healthy or degraded, 503 when unhealthy — for a load balancer, Nagios or systemd watchdog script.
/// </summary>
public sealed class HealthEndpoint(HealthCheckService checks, SmartMailOptions options) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly HttpListener _listener = new();

    /// <summary>Binds the address before start-up completes: an unusable HealthUrl fails the start, and the endpoint answers as soon as the host runs.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task.</returns>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _listener.Prefixes.Add(options.HealthUrl!);
        _listener.Start();
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _listener.Close();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener;
        using var registration = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException && stoppingToken.IsCancellationRequested)
            {
                return;
            }
            var report = await checks.CheckHealthAsync(stoppingToken);
            var body = JsonSerializer.SerializeToUtf8Bytes(new
            {
                status = report.Status.ToString(),
                checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description, e.Value.Data }),
            }, Json);
            context.Response.StatusCode = report.Status == HealthStatus.Unhealthy ? 503 : 200;
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(body, stoppingToken);
            context.Response.Close();
        }
    }
}
