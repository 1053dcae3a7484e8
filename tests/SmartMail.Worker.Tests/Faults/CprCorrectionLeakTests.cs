using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// A caseworker files a mail into a folder named after the citizen ("Borger 31.12.75-4321", as people do): the correction
/// row, the audit table, audit.jsonl and the example store keep no CPR number, whatever the spelling.
/// </summary>
public sealed class CprCorrectionLeakTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-cpr-correction-");

    public void Dispose() => _dir.Delete(recursive: true);

    public static TheoryData<int> Spellings() => [.. Enumerable.Range(0, CprCorpus.Spellings.Count)];

    [Theory]
    [MemberData(nameof(Spellings))]
    public void Record_FolderAndCaseworkerWithCpr_NothingStoredHoldsIt(int index)
    {
        var cpr = CprCorpus.Spellings[index];
        var options = new SmartMailOptions { DataDirectory = _dir.FullName, ModelPath = "unused" };
        var db = Path.Combine(_dir.FullName, "state.db");
        using var store = new SqliteStateStore(db);
        using var examples = new ExampleStore(db);
        var folder = $"INBOX/Borgere/Borger {cpr}";
        var correction = new Correction(T0, "mb", "fp", "sm-fp", "Affald", "Affald", "Borgere", folder, $"sagsbehandler {cpr}", "imap", "v1");
        var text = new NewExample("mb", "fp", "sm-fp", "Borgere", "v1", new TextInput($"Ansøgning {cpr}", $"Mit CPR er {cpr}."), T0);

        CorrectionRecorder.Record(store, examples, options, correction, text, $"moved by a caseworker from 'Affald' to folder {folder}", folder);

        Assert.Single(LedgerQuery.Rows(db, "SELECT * FROM audit"));
        AssertNoCpr(LedgerQuery.Rows(db, "SELECT * FROM audit"));
        AssertNoCpr(File.ReadAllLines(Path.Combine(_dir.FullName, "audit.jsonl")));
        AssertNoCpr(LedgerQuery.Rows(db, "SELECT * FROM correction"));
        AssertNoCpr(LedgerQuery.Rows(db, "SELECT * FROM example"));
        AssertNoCpr(store.ReadAudit().Select(a => $"{a.Reason} {a.Destination}"));
    }

    private static void AssertNoCpr(IEnumerable<string> texts)
    {
        var leaks = texts.Where(CprCorpus.Leaks).ToList();
        Assert.True(leaks.Count == 0, $"CPR numbers:\n{string.Join("\n", leaks)}");
    }
}
