using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Web;
using SmartMail.Worker.Options;
using SmartMail.Worker.WebHosting;

namespace SmartMail.Worker.Health;

/// <summary>
/// Serves the health report as JSON on <see cref="SmartMailOptions.HealthUrl"/> (e.g. <c>http://127.0.0.1:8081/health/</c>):
/// 200 when healthy or degraded, 503 when unhealthy — for a load balancer, Nagios or systemd watchdog script. It is a
/// small Kestrel app of its own (<c>MapHealthChecks</c>), so that a client that resets its connection, or any other fault
/// of one request, ends that request only, never the worker.
/// </summary>
/// <param name="checks">The worker's health checks.</param>
/// <param name="options">The settings.</param>
/// <param name="loggerFactory">The worker's (redacting) logger factory: Kestrel's warnings and errors go there.</param>
public sealed class HealthEndpoint(HealthCheckService checks, SmartMailOptions options, ILoggerFactory loggerFactory) : HostedWebApp
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The address the endpoint listens on once started (the bound port when <c>HealthUrl</c> names port 0).</summary>
    public string? Address { get; private set; }

    /// <summary>Binds the address before start-up completes: an unusable HealthUrl fails the start, and the endpoint answers as soon as the host runs.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task.</returns>
    /// <exception cref="InvalidOperationException">The address cannot be bound; the message names <c>SmartMail:HealthUrl</c>.</exception>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var (listen, path) = Split(options.HealthUrl!); // validated: an http:// prefix ending in '/'
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(HealthEndpoint).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.Sources.Clear(); // the worker's configuration is the one
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // a failed start is thrown, and reported once by the worker
        builder.WebHost.UseUrls(listen);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 0;
            k.Limits.MaxConcurrentConnections = 64;
        });
        builder.Services.AddSingleton(checks);
        var app = builder.Build();
        app.MapHealthChecks(path, new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteAsync,
        });
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException($"{SmartMailOptions.SectionName}:HealthUrl: cannot listen on '{options.HealthUrl}' ({ex.Message}).", ex);
        }
        App = app;
        Address = app.Urls.FirstOrDefault();
    }

    /// <summary>Splits an HttpListener-style prefix (<c>http://host:port/path/</c>, <c>+</c> and <c>*</c> hosts too) into Kestrel's address and the path.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <returns>The address to listen on and the path the report is served at.</returns>
    internal static (string Listen, string Path) Split(string prefix)
    {
        var rest = prefix["http://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return ("http://" + rest[..slash], rest[slash..].TrimEnd('/') is { Length: > 0 } path ? path : "/");
    }

    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        return http.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description, e.Value.Data }),
        }, Json), http.RequestAborted).AsTask();
    }
}
