using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests;

public sealed class DataDirectoryLockTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("smartmail-lock-");

    [Fact]
    public void SecondLock_OnOneDataDirectory_IsRefusedNamingTheSetting_UntilTheFirstIsGone()
    {
        using var first = new DataDirectoryLock(_data.FullName);
        first.Acquire();
        using var second = new DataDirectoryLock(_data.FullName);

        var ex = Assert.Throws<DataDirectoryInUseException>(second.Acquire);
        Assert.StartsWith("SmartMail:DataDirectory", ex.Message, StringComparison.Ordinal);
        Assert.False(second.IsHeld);

        first.Dispose(); // the process ended
        second.Acquire();
        Assert.True(second.IsHeld);
    }

    [Fact]
    public async Task SecondWatchingHost_OnOneDataDirectory_FailsToStart_TheFirstKeepsRunning()
    {
        var ct = TestContext.Current.CancellationToken;
        string[] args = ["--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + _data.FullName, "--SmartMail:PollInterval=00:00:01",
            "--SmartMail:Web:Enabled=false"]; // no dependence on the default port 5080: another test may hold it
        using var first = WorkerHost.CreateBuilder(args).Build();
        await first.StartAsync(ct);
        using var second = WorkerHost.CreateBuilder(args).Build();
        // The lock starts before any other hosted service: a refused instance runs no erasure, recovery or watcher.
        Assert.Same(second.Services.GetRequiredService<DataDirectoryLock>(), second.Services.GetServices<IHostedService>().First());

        var ex = await Assert.ThrowsAsync<DataDirectoryInUseException>(() => second.StartAsync(ct));

        Assert.Contains(_data.FullName, ex.Message, StringComparison.Ordinal);
        await first.StopAsync(ct);
    }

    public void Dispose() => _data.Delete(recursive: true);
}
