using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SmartMail.Worker.Options;
using SmartMail.Worker.Privacy;
using SmartMail.Worker.State;

namespace SmartMail.Benchmarks;

/// <summary>
/// <c>smartmail privacy find --cpr</c> over a data directory of N decisions (default 100,000): ledger, privacy index,
/// audit trail and audit.jsonl, a journal of N .eml + .json files; one person has 5 of the mails. Prints the build time
/// and the median of 5 finds. Target (issue 25): under 5 s on the 2-core machine.
/// Run: <c>dotnet run -c Release --project benchmarks/SmartMail.Benchmarks -- privacy-find 100000</c>.
/// </summary>
public static class PrivacyFindBenchmark
{
    /// <summary>Builds the data directory and times the finds.</summary>
    /// <param name="args">[N].</param>
    /// <returns>The exit code.</returns>
    public static int Run(string[] args)
    {
        var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var root = Directory.CreateTempSubdirectory("smartmail-privacy-bench-");
        try
        {
            var options = new SmartMailOptions { DataDirectory = root.FullName, ModelPath = "unused" };
            var build = Stopwatch.StartNew();
            var hash = PrivacyKeyFile.Load(options.DataDirectory);
            var statePath = Path.Combine(options.DataDirectory, "state.db");
            using var store = new SqliteStateStore(statePath, auditFile: Path.Combine(options.DataDirectory, "audit.jsonl"));
            using var privacy = new PrivacyStore(statePath);
            Fill(statePath, options, hash, privacy, n);
            Console.WriteLine($"built {n:N0} decisions in {build.Elapsed.TotalSeconds:F1} s");
            var service = new PrivacyService(options, privacy, store, hash, TimeProvider.System);
            var times = new List<double>();
            for (var run = 0; run < 5; run++)
            {
                var watch = Stopwatch.StartNew();
                var found = service.Find(PersonQuery.ByCpr("311275-4321"), "bench");
                times.Add(watch.Elapsed.TotalSeconds);
                if (found.Mails.Count != 5)
                {
                    Console.Error.WriteLine($"expected 5 mails, found {found.Mails.Count}");
                    return 1;
                }
            }
            times.Sort();
            Console.WriteLine($"privacy find --cpr over {n:N0} decisions: median {times[2]:F2} s (min {times[0]:F2}, max {times[4]:F2}); target < 5 s");
            return 0;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            root.Delete(recursive: true);
        }
    }

    private static void Fill(string statePath, SmartMailOptions options, Core.Privacy.KeyedHash hash, PrivacyStore privacy, int n)
    {
        var now = DateTimeOffset.UtcNow;
        var cprHash = hash.OfCpr("311275-4321")!;
        using var connection = new SqliteConnection($"Data Source={statePath};Pooling=false");
        connection.Open();
        using (var tx = connection.BeginTransaction())
        {
            using var mail = connection.CreateCommand();
            mail.Transaction = tx;
            mail.CommandText = "INSERT INTO mail (mailbox, folder, uidvalidity, uid, fingerprint, decision_id, state, destination, decision_json, created_utc, updated_utc) " +
                "VALUES ('drop', 'inbox', 1, $u, $fp, $d, $s, 'Dept', '{}', $t, $t)";
            using var audit = connection.CreateCommand();
            audit.Transaction = tx;
            audit.CommandText = "INSERT INTO audit (time_utc, decision_id, fingerprint, mailbox, source, reason, destination, outcome) VALUES ($t, $d, $fp, 'drop', 'model', 'confident', 'Dept', 'routed')";
            for (var i = 0; i < n; i++)
            {
                var (id, fp) = Ids(i);
                foreach (var cmd in new[] { mail, audit })
                {
                    cmd.Parameters.Clear();
                    cmd.Parameters.AddWithValue("$u", i.ToString(CultureInfo.InvariantCulture));
                    cmd.Parameters.AddWithValue("$fp", fp);
                    cmd.Parameters.AddWithValue("$d", id);
                    cmd.Parameters.AddWithValue("$s", (int)MailState.Acknowledged);
                    cmd.Parameters.AddWithValue("$t", now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
                    cmd.ExecuteNonQuery();
                }
            }
            tx.Commit();
        }
        var batch = new List<IndexedMail>();
        for (var i = 0; i < n; i++)
        {
            var (id, fp) = Ids(i);
            var person = i % (n / 5) == 0;
            batch.Add(new IndexedMail(new MailRef("drop", fp, id), [
                new PersonKey(MailKeys.AddressKind, hash.OfAddress($"borger{i}@example.dk")),
                new PersonKey(MailKeys.MessageKind, hash.OfMessageId($"m{i}@example.dk")),
                new PersonKey(MailKeys.CprKind, person ? cprHash : hash.OfCpr($"0101{(i % 90) + 10:D2}{i % 10000:D4}") ?? cprHash)], now));
        }
        privacy.Index(batch);
        var journal = Path.Combine(options.JournalPath, "Dept");
        Directory.CreateDirectory(journal);
        using var auditFile = new StreamWriter(Path.Combine(options.DataDirectory, "audit.jsonl"));
        for (var i = 0; i < n; i++)
        {
            var (id, fp) = Ids(i);
            File.WriteAllText(Path.Combine(journal, id + ".eml"), $"From: borger{i}@example.dk\r\nSubject: sag {i}\r\n\r\nTekst {i}\r\n");
            File.WriteAllText(Path.Combine(journal, id + ".json"), $"{{\"decisionId\":\"{id}\",\"mailbox\":\"drop\",\"fingerprint\":\"{fp}\"}}");
            auditFile.WriteLine($"{{\"time\":\"{now:O}\",\"decisionId\":\"{id}\",\"fingerprint\":\"{fp}\",\"mailbox\":\"drop\",\"outcome\":\"routed\"}}");
        }
    }

    private static (string Id, string Fingerprint) Ids(int i) =>
        ($"sm-{i:D24}", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))));
}
