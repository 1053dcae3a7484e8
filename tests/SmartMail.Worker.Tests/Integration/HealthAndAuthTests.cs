using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Health;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

public sealed class HealthAndAuthTests(DefaultModelFixture model) : IntegrationTest(model)
{

    [Fact]
    public async Task Worker_RefusedCredentials_StopsThatMailboxWithoutRetrying()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var options = dovecot.Options();
        options.Password = "wrong-" + options.Password;
        options.PollInterval = TimeSpan.FromMilliseconds(200);
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        var health = new WorkerHealth();
        var policy = new RoutingPolicy([], Model.Bundle);
        using var worker = new ImapWorker(options, mailbox => new MailProcessor(store, () => policy, new MailExtractor(), mailbox,
            new SmartMailOptions { DataDirectory = Data.FullName }, TimeProvider.System, NullLogger.Instance, new WorkerMetrics()),
            store, TimeProvider.System, new NoLifetime(), NullLogger<ImapWorker>.Instance, health);

        await worker.StartAsync(TestContext.Current.CancellationToken);
        // Dovecot delays each failed login by 2 s, and MailKit tries each offered mechanism once per connection.
        for (var waited = 0; !health.Mailboxes.ContainsKey(options.Name) && waited < 150; waited++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        await Task.Delay(3000, TestContext.Current.CancellationToken); // a retrying worker would open more connections meanwhile
        await worker.StopAsync(TestContext.Current.CancellationToken);

        Assert.False(worker.IsConnected);
        Assert.Equal(HealthStatus.Unhealthy, health.Mailboxes[options.Name].Status);
        var failedConnections = File.ReadAllLines(Path.Combine(dovecot.Directory, "dovecot.log"))
            .Count(l => l.Contains("Disconnected", StringComparison.Ordinal) && l.Contains("auth failed", StringComparison.Ordinal));
        Assert.Equal(1, failedConnections);
    }

    [Fact]
    public async Task HealthCheck_ReflectsWatchersAndLedger()
    {
        using var provider = new ModelProvider(new SmartMailOptions { ModelPath = Model.ModelPath }, NullLogger<ModelProvider>.Instance);
        var health = new WorkerHealth();
        var check = new SmartMailHealthCheck(health, provider);
        var now = DateTimeOffset.UtcNow;

        health.Working("a", now);
        var healthy = await check.CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);
        health.Reconnecting("b", "reconnecting after IOException (failure 1)", now);
        var degraded = await check.CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);
        health.LedgerFailed("SqliteException");
        var unhealthy = await check.CheckHealthAsync(new HealthCheckContext(), TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.Equal(Model.Bundle.Manifest.ModelVersion, healthy.Data["model"]);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.Contains("no mail is taken", unhealthy.Description);
    }

    [Fact]
    public async Task Host_HealthUrl_ServesTheReportAsJson()
    {
        var port = Sinks.LoopbackPort.Free();
        var url = $"http://127.0.0.1:{port}/health/";
        using var host = WorkerHost.CreateBuilder([
            $"--SmartMail:ModelPath={Model.ModelPath}",
            $"--SmartMail:DataDirectory={Data.FullName}",
            $"--SmartMail:HealthUrl={url}",
            "--SmartMail:Web:Enabled=false", // no dependence on the default port 5080 (issue 24)
        ]).Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        using var client = new HttpClient();

        using var response = await client.GetAsync(new Uri(url), TestContext.Current.CancellationToken);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        await host.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(Model.Bundle.Manifest.ModelVersion,
            body.RootElement.GetProperty("checks").GetProperty("smartmail").GetProperty("data").GetProperty("model").GetString());
    }
}
