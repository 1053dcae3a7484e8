using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Oversight;

/// <summary>
/// The embedded default on disk: a drop-folder inbox, the journal and state.db in a temp directory, the processor with
/// rules only (no model: what no rule takes goes to manual triage), and the web app's queries and actions over the same
/// files. <see cref="Restart"/> opens everything again over the same files (a process restart).
/// </summary>
internal sealed class OversightWorld : IDisposable
{
    public static readonly string[] Labels = ["Housing", "Tax", "Schools"];

    public OversightWorld(IEnumerable<RoutingRule>? rules = null)
    {
        Root = Directory.CreateTempSubdirectory("smartmail-oversight-");
        Options = new SmartMailOptions { DataDirectory = Path.Combine(Root.FullName, "data"), ModelPath = "unused" };
        Rules = [.. rules ?? []];
        Restart();
    }

    public DirectoryInfo Root { get; }

    public SmartMailOptions Options { get; }

    public List<RoutingRule> Rules { get; }

    public SqliteStateStore Store { get; private set; } = null!;

    public ExampleStore Examples { get; private set; } = null!;

    public MailProcessor Processor { get; private set; } = null!;

    public OversightQueries Queries { get; private set; } = null!;

    public MailActions Actions { get; private set; } = null!;

    public IMailSource Source { get; private set; } = null!;

    public string StatePath => Path.Combine(Options.DataDirectory, "state.db");

    public void Restart()
    {
        Store?.Dispose();
        Examples?.Dispose();
        Store = new SqliteStateStore(StatePath);
        Examples = new ExampleStore(StatePath);
        var journal = new FolderJournalSink(Options.JournalPath);
        var policy = new RoutingPolicy(Rules, null);
        Processor = new MailProcessor(Store, () => policy, new MailExtractor(), journal, Options, TimeProvider.System, NullLogger.Instance,
            new WorkerMetrics(), Examples);
        Source = new DropFolderSource("drop", Options.InboxPath);
        Queries = new OversightQueries(Store, Examples, Options, () => null, null, TimeProvider.System);
        Actions = new MailActions(Store, Examples, Options, () => Labels, new RoutingSink(Options, journal, journal, null, null),
            TimeProvider.System, NullLogger.Instance);
    }

    public void Drop(string name, string content)
    {
        Directory.CreateDirectory(Options.InboxPath);
        File.WriteAllText(Path.Combine(Options.InboxPath, name), content);
    }

    public Task DrainAsync() => Processor.DrainAsync(Source, TestContext.Current.CancellationToken);

    /// <summary>Every .eml in the journal, by the directory it lies in.</summary>
    public string[] JournalEml() =>
        Directory.Exists(Options.JournalPath)
            ? [.. Directory.GetFiles(Options.JournalPath, "*.eml", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Options.JournalPath, f)).Order(StringComparer.Ordinal)]
            : [];

    public static string Mail(int n, string subject = "Min sag", string from = "borger") => $"""
        From: {from}{n}@example.dk
        Subject: {subject} {n}
        Message-ID: <oversight-{n}@example.dk>
        Date: Tue, 01 Dec 2026 09:{n % 60:00}:00 +0000
        Content-Type: text/plain; charset=utf-8

        Hej, jeg vil gerne høre hvornår jeg får svar på min ansøgning om boligstøtte. ({n})
        """.Replace("\n", "\r\n", StringComparison.Ordinal);

    public void Dispose()
    {
        Store.Dispose();
        Examples.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Root.Delete(recursive: true);
    }
}
