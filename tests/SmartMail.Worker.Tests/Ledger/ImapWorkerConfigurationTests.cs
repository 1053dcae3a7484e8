using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Ledger;

/// <summary>A configuration error stops its mailbox with one critical line naming the setting; it is not retried.</summary>
public sealed class ImapWorkerConfigurationTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("smartmail-config-");

    [Fact]
    public async Task Worker_MissingPasswordFile_StopsTheMailboxWithOneCriticalLineNamingTheSetting()
    {
        var options = new ImapMailboxOptions
        {
            Name = "config",
            Host = "127.0.0.1",
            Port = SmartMail.Worker.Tests.Sinks.LoopbackPort.Free(), // nobody listens: a connect first would fail as transient
            Security = "None",
            AllowPlaintext = true,
            Username = "someone",
            PasswordFile = Path.Combine(_data.FullName, "no-such-password-file"),
            UseLease = false,
            UseIdle = false,
            CommandTimeout = TimeSpan.FromSeconds(2),
        };
        using var store = new SqliteStateStore(Path.Combine(_data.FullName, "state.db"));
        var logger = new Lines();
        using var worker = new ImapWorker(options, _ => throw new InvalidOperationException("never drains"), store, TimeProvider.System,
            new NoLifetime(), logger);

        await worker.StartAsync(TestContext.Current.CancellationToken);
        var stopped = await Task.WhenAny(worker.ExecuteTask!, Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        await worker.StopAsync(CancellationToken.None);

        Assert.Same(worker.ExecuteTask, stopped);
        var critical = Assert.Single(logger.Entries, e => e.Level == LogLevel.Critical);
        Assert.Contains("PasswordFile", critical.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(logger.Entries, e => e.Level == LogLevel.Warning);
    }

    public void Dispose() => _data.Delete(recursive: true);

    private sealed class Lines : ILogger<ImapWorker>
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
