using Microsoft.Extensions.DependencyInjection;
using SmartMail.Core;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Privacy;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.StateStores;

namespace SmartMail.Worker.Tests.Fleet;

/// <summary>
/// The worker's background services when the PostgreSQL server goes away under them (a restart, a fail-over): each logs the
/// failure and tries again later, and the host keeps running. Found by the fleet test: the web actions' recovery, the pending
/// erasures and the retention purge let a database error out (only SQLite's was caught, or none), which stopped the whole
/// worker at a database restart.
/// </summary>
public sealed class DatabaseRestartTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("smartmail-pg-restart-");

    public void Dispose() => _data.Delete(recursive: true);

    [Fact]
    public async Task RecoveryErasuresAndPurge_DatabaseGoneUnderThem_LogAndTryAgainLater()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var postgres = await PostgreSqlServer.StartAsync();
        var connection = await postgres.CreateDatabaseAsync("restart");
        using var host = WorkerHost.CreateBuilder(
        [
            "--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + _data.FullName,
            "--SmartMail:State:Provider=PostgreSql", "--SmartMail:State:ConnectionString=" + connection,
        ], watch: false).Build();
        var store = host.Services.GetRequiredService<IStateStore>();
        Assert.Empty(store.OpenActions()); // connected
        var recoveryLog = new ListLogger<OversightRecovery>();
        var erasureLog = new ListLogger<PendingErasureWorker>();
        using var recovery = new OversightRecovery(host.Services.GetRequiredService<MailActions>(), TimeProvider.System, recoveryLog);
        using var erasure = new PendingErasureWorker(host.Services.GetRequiredService<PrivacyService>(), TimeProvider.System, erasureLog);
        var purgeLog = new ListLogger<RetrainWorker>();
        using var purge = new RetrainWorker(host.Services.GetRequiredService<ExampleStore>(), store, host.Services.GetRequiredService<SmartMailOptions>(),
            host.Services.GetRequiredService<ModelProvider>(), TimeProvider.System, purgeLog);

        // The server stops: the store's open connection is cut (the recovery's read fails on it), and a new one is refused (the erasures').
        await postgres.StopAsync();
        await recovery.StartAsync(ct);
        await WorkerProcess.WaitUntil(() => recoveryLog.With(SmartMailEventId.StateStoreRetrying).Count > 0 || recovery.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(60));
        await erasure.StartAsync(ct);
        await WorkerProcess.WaitUntil(() => erasureLog.With(SmartMailEventId.PendingErasuresFailed).Count > 0 || erasure.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(60));
        await purge.StartAsync(ct);
        await WorkerProcess.WaitUntil(() => purgeLog.With(SmartMailEventId.StateStoreRetrying).Count > 0 || purge.ExecuteTask!.IsCompleted, TimeSpan.FromSeconds(60));

        Assert.False(recovery.ExecuteTask!.IsCompleted, $"the recovery ended: {recovery.ExecuteTask.Exception?.InnerException?.GetType().Name}");
        Assert.False(erasure.ExecuteTask!.IsCompleted, $"the pending erasures ended: {erasure.ExecuteTask.Exception?.InnerException?.GetType().Name}");
        Assert.Single(recoveryLog.With(SmartMailEventId.StateStoreRetrying));
        Assert.False(purge.ExecuteTask!.IsCompleted, $"the retention purge ended: {purge.ExecuteTask.Exception?.InnerException?.GetType().Name}");
        Assert.Single(erasureLog.With(SmartMailEventId.PendingErasuresFailed));
        Assert.Single(purgeLog.With(SmartMailEventId.StateStoreRetrying));
        // A warning that says it goes on, not the critical "the worker stops taking mail" of the ledger itself.
        Assert.Empty(recoveryLog.With(SmartMailEventId.StateStoreFailed));
        Assert.Empty(purgeLog.With(SmartMailEventId.StateStoreFailed));

        // Back up: the store reconnects on its next use.
        await postgres.StartAgainAsync();
        Assert.Empty(store.OpenActions());
        await recovery.StopAsync(ct);
        await erasure.StopAsync(ct);
        await purge.StopAsync(ct);
    }
}
