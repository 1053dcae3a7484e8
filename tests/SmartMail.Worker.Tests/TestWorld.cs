using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests;

/// <summary>A simulated process death: nothing in the worker catches it.</summary>
public sealed class CrashException : Exception
{
    public CrashException()
        : base("simulated crash")
    {
    }

    public CrashException(string message)
        : base(message)
    {
    }

    public CrashException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Where a simulated crash strikes.</summary>
public enum CrashPoint
{
    None,
    BeforeDeliver,
    AfterDeliver,
    BeforeAcknowledge,
    AfterAcknowledge,
}

/// <summary>
/// A real drop-folder inbox, journal and SQLite state in a temp directory, with a processor that can be
/// "restarted" (a new processor and store over the same files) and crash points around deliver and acknowledge.
/// </summary>
public sealed class TestWorld : IDisposable
{
    private readonly ListLogger _logs = new();

    public TestWorld(ModelBundle? model = null, IEnumerable<RoutingRule>? rules = null)
    {
        Root = Directory.CreateTempSubdirectory("smartmail-world-");
        Options = new SmartMailOptions { DataDirectory = Path.Combine(Root.FullName, "data"), ModelPath = "unused" };
        Model = model;
        Rules = [.. rules ?? []];
        Restart();
    }

    public DirectoryInfo Root { get; }

    public SmartMailOptions Options { get; }

    public ModelBundle? Model { get; }

    public List<RoutingRule> Rules { get; }

    public SqliteStateStore Store { get; private set; } = null!;

    public MailProcessor Processor { get; private set; } = null!;

    public CrashingSource Source { get; private set; } = null!;

    public CountingSink Sink { get; private set; } = null!;

    public IReadOnlyList<string> LogLines => _logs.Lines;

    public string InboxPath => Options.InboxPath;

    public string JournalPath => Options.JournalPath;

    public void Restart()
    {
        Store?.Dispose();
        Store = new SqliteStateStore(Path.Combine(Options.DataDirectory, "state.db"));
        var deliveries = Sink?.Deliveries ?? new ConcurrentDictionary<string, int>();
        Sink = new CountingSink(new FolderJournalSink(JournalPath), deliveries);
        Source = new CrashingSource(new DropFolderSource("drop", InboxPath));
        Processor = ProcessorWith(Sink);
    }

    public string Drop(string name, string content) => Drop(name, System.Text.Encoding.UTF8.GetBytes(content));

    /// <summary>A processor of this world's store, model and options that delivers through <paramref name="sink"/>.</summary>
    public MailProcessor ProcessorWith(IMailSink sink)
    {
        var policy = new RoutingPolicy(Rules, Model);
        return new(Store, () => policy, new MailExtractor(), sink, Options, TimeProvider.System, _logs, new WorkerMetrics());
    }

    public string Drop(string name, byte[] content)
    {
        Directory.CreateDirectory(InboxPath);
        var path = Path.Combine(InboxPath, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    public async Task<IReadOnlyList<ProcessOutcome>> DrainAsync() =>
        await Processor.DrainAsync(Source, TestContext.Current.CancellationToken);

    /// <summary>Drains with a crash at <paramref name="point"/> for the first mail, then restarts and drains until done.</summary>
    public async Task CrashThenRecoverAsync(CrashPoint point)
    {
        Sink.CrashAt = point;
        Source.CrashAt = point;
        await Assert.ThrowsAsync<CrashException>(DrainAsync);
        Restart();
        await DrainAsync();
    }

    public string[] JournalFiles(string pattern) =>
        Directory.Exists(JournalPath) ? Directory.GetFiles(JournalPath, pattern, SearchOption.AllDirectories) : [];

    public void Dispose()
    {
        Store.Dispose();
        Root.Delete(recursive: true);
    }

    public sealed class CountingSink(IMailSink inner, ConcurrentDictionary<string, int> deliveries) : IMailSink
    {
        public ConcurrentDictionary<string, int> Deliveries { get; } = deliveries;

        public CrashPoint CrashAt { get; set; }

        public string PlaceOf(string destination) => inner.PlaceOf(destination);

        public Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken) => inner.IsDeliveredAsync(check, cancellationToken);

        public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
        {
            if (Take(CrashPoint.BeforeDeliver))
            {
                throw new CrashException();
            }
            DecisionSchema.AssertValid(delivery.DecisionJson); // every decision a test world delivers follows the published schema
            await inner.DeliverAsync(delivery, cancellationToken);
            Deliveries.AddOrUpdate(delivery.DecisionId, 1, (_, n) => n + 1);
            if (Take(CrashPoint.AfterDeliver))
            {
                throw new CrashException();
            }
        }

        private bool Take(CrashPoint point)
        {
            if (CrashAt != point)
            {
                return false;
            }
            CrashAt = CrashPoint.None;
            return true;
        }
    }

    public sealed class CrashingSource(IMailSource inner) : IMailSource
    {
        public CrashPoint CrashAt { get; set; }

        public string Mailbox => inner.Mailbox;

        public Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken) => inner.FetchAsync(key, cancellationToken);

        public async Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken)
        {
            if (CrashAt == CrashPoint.BeforeAcknowledge)
            {
                CrashAt = CrashPoint.None;
                throw new CrashException();
            }
            await inner.AcknowledgeAsync(key, cancellationToken);
            if (CrashAt == CrashPoint.AfterAcknowledge)
            {
                CrashAt = CrashPoint.None;
                throw new CrashException();
            }
        }
    }

    /// <summary>Captures every formatted log line at every level, exceptions included.</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue($"{logLevel} {eventId.Id} {formatter(state, exception)} {exception}");
    }
}
