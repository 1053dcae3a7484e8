using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Privacy;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.StateStores;

namespace SmartMail.Worker.Tests.Privacy;

/// <summary>
/// Issue 25, the must-show: one person's five mails (CPR in the subject, the body, a PDF attachment, and a reply thread)
/// through a real Dovecot and the drop folder, a correction and a retrain; <c>find</c> lists every place; <c>erase</c>
/// leaves no trace of the CPR number (every spelling), the address or the text in any file under the data directory,
/// while other mail goes on being routed; the erasure's audit row exists. On both state providers: with PostgreSQL, no row
/// of any table of the database holds a trace either.
/// </summary>
public sealed class PersonErasureIntegrationTests(DefaultModelFixture model, PostgreSqlFixture postgres, ITestOutputHelper output)
    : IntegrationTest(model), IClassFixture<PostgreSqlFixture>
{
    [Theory]
    [InlineData("Sqlite")]
    [InlineData("PostgreSql")]
    public async Task FindThenErase_FivePersonMailsByImapAndDropFolder_NoTraceLeftAndRoutingGoesOn(string provider)
    {
        var ct = TestContext.Current.CancellationToken;
        var database = provider == "PostgreSql" ? await postgres.NewDatabaseAsync() : null;
        await using var dovecot = await Dovecot.StartAsync();
        var options = new SmartMailOptions
        {
            DataDirectory = Data.FullName,
            ModelPath = Model.ModelPath,
            Mailboxes = [dovecot.Options("test")],
        };
        var auditFile = Path.Combine(Data.FullName, "audit.jsonl");
        using StateStore store = database is null
            ? new SqliteStateStore(Path.Combine(Data.FullName, "state.db"), auditFile: auditFile)
            : new PostgreSqlStateStore(database, "one", auditFile);
        using var examples = new ExampleStore(store);
        using var privacyStore = new PrivacyStore(store);
        var hash = PrivacyKeyFile.Load(Data.FullName);
        MailProcessor Processor(IMailSink sink) => new(store, () => new RoutingPolicy([new RoutingRule { Name = "daycare", Label = "sci.space", Subject = "vuggestue" }], Model.Bundle), new MailExtractor(), sink, options,
            TimeProvider.System, NullLogger.Instance, new WorkerMetrics(), examples, privacy: privacyStore);
        var (imapMails, dropMails) = PersonMails.Five();

        // Other people's mail around the person's, by both ways in.
        await dovecot.AppendAsync([.. imapMails, .. Enumerable.Range(0, 10).Select(i => Bytes(Mails.Space(i)))]);
        using var mailbox = new ImapMailbox(dovecot.Options("test"), store.InstanceId);
        await mailbox.ConnectAsync(ct);
        await Processor(mailbox).DrainAsync(mailbox, 50, ct);
        var drop = new DropFolderSource("drop", options.InboxPath);
        Directory.CreateDirectory(options.InboxPath);
        for (var i = 0; i < dropMails.Length; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(options.InboxPath, $"person-{i}.eml"), dropMails[i], ct);
        }
        for (var i = 10; i < 40; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(options.InboxPath, $"other-{i}.eml"), i % 2 == 0 ? Mails.Space(i) : Mails.Car(i), ct);
        }
        var journalProcessor = Processor(new FolderJournalSink(options.JournalPath));
        await journalProcessor.DrainAsync(drop, ct);

        // A caseworker corrects the first mail; a retrain learns from the stored examples, the person's among them.
        var first = store.FindDecided("").Single(d => d.DecisionId == FindDecision(privacyStore, hash, "person-1@borger.example"));
        CorrectionRecorder.Record(store, examples, options, new Correction(DateTimeOffset.UtcNow, first.Mailbox, first.Fingerprint, first.DecisionId,
            null, first.Destination, "sci.space", "sci.space", "sagsbehandler", "imap", null), null, "corrected in a test", "sci.space");
        var retrain = Retrainer.Run(examples, null, ModelRegistry.For(options, store), new RetrainOptions
        {
            ConfirmAfter = TimeSpan.Zero,
            MinComparisonExamples = 1,
            MinExamplesPerLabel = 3,
            DryRun = true,
            TrainedOn = PrivacyTraining.Recorder(privacyStore, hash),
        }, TimeProvider.System);
        Assert.NotNull(retrain.CandidateVersion);

        var privacy = new PrivacyService(options, privacyStore, store, hash, TimeProvider.System);
        var needles = PersonMails.CprSpellings.Append(PersonMails.Address).Append(PersonMails.Text).Append(PersonMails.ReplyText).ToList();
        Assert.NotEmpty(PersonMails.Traces(Data.FullName, needles)); // the scan sees the person before the erasure
        if (database is not null)
        {
            Assert.NotEmpty(DatabaseTraces(database, needles)); // and so does the database's
        }

        var found = privacy.Find(PersonQuery.ByCpr("31.12.75-4321"), "dpo-test");

        output.WriteLine(PrivacyText.Findings(found));
        Assert.Equal(5, found.Mails.Count);
        var kinds = found.Mails.SelectMany(m => m.Places).Select(p => p.Kind).ToHashSet();
        Assert.Superset(new HashSet<string> { PlaceKind.JournalMail, PlaceKind.JournalDecision, PlaceKind.Mailbox, PlaceKind.Ledger, PlaceKind.Summary,
            PlaceKind.Example, PlaceKind.Correction, PlaceKind.Thread, PlaceKind.Audit, PlaceKind.AuditFile, PlaceKind.Model, PlaceKind.Index }, kinds);
        Assert.Equal([retrain.CandidateVersion!], found.Models);
        Assert.DoesNotContain("4321", PrivacyText.Findings(found), StringComparison.Ordinal);
        // By address: mails 1-4, and the reply from another address through its thread.
        Assert.Equal(5, privacy.Find(PersonQuery.ByAddress(PersonMails.Address.ToUpperInvariant()), "dpo-test").Mails.Count);

        // Other mail is routed while the erasure runs.
        for (var i = 40; i < 60; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(options.InboxPath, $"other-{i}.eml"), Mails.Space(i), ct);
        }
        var routing = Task.Run(() => journalProcessor.DrainAsync(drop, ct), ct);
        var erased = await Task.Run(() => privacy.Erase(found, "dpo-test", dryRun: false), ct);
        var routedMeanwhile = await routing;

        Assert.Equal((5, 0), (erased.Mails, erased.Pending));
        Assert.Equal(20, routedMeanwhile.Count);
        var journal = Directory.GetFiles(options.JournalPath, "*.eml", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        Assert.All(Enumerable.Range(40, 20), i => Assert.Single(journal, t => t.Contains($"Shuttle launch question {i}\r", StringComparison.Ordinal)));
        var traces = PersonMails.Traces(Data.FullName, needles);
        Assert.True(traces.Count == 0, string.Join("\n", traces));
        if (database is not null)
        {
            var rows = DatabaseTraces(database, needles);
            Assert.True(rows.Count == 0, string.Join("\n", rows));
        }
        var row = Assert.Single(store.ReadAudit(), a => a.Outcome == "privacy-erase");
        Assert.Equal("dpo-test", row.By);
        Assert.Contains("5 mails", row.Reason, StringComparison.Ordinal);
        Assert.Equal([retrain.CandidateVersion!], privacyStore.FlaggedModels().Select(f => f.ModelVersion));
        Assert.Empty(privacy.Find(PersonQuery.ByCpr(PersonMails.Cpr), "dpo-test").Mails);
        Assert.DoesNotContain(examples.ReadLabeled(DateTimeOffset.UtcNow), e => found.Mails.Any(m => m.Mail.Fingerprint == e.Document.Fingerprint));
    }

    // Every row of every table of the database in its text form (what a query, a dump or a backup sees), searched for each needle.
    private static List<string> DatabaseTraces(string connectionString, List<string> needles)
    {
        using var connection = new Npgsql.NpgsqlConnection(connectionString);
        connection.Open();
        var tables = new List<string>();
        using (var list = new Npgsql.NpgsqlCommand("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()", connection))
        using (var reader = list.ExecuteReader())
        {
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        Assert.NotEmpty(tables);
        var found = new List<string>();
        foreach (var table in tables)
        {
            using var rows = new Npgsql.NpgsqlCommand($"SELECT t::text FROM {table} t", connection);
            using var reader = rows.ExecuteReader();
            while (reader.Read())
            {
                var row = reader.GetString(0);
                found.AddRange(needles.Where(n => row.Contains(n, StringComparison.Ordinal)).Select(n => $"{table}: {n}"));
            }
        }
        return found;
    }

    private static byte[] Bytes(string mail) => System.Text.Encoding.UTF8.GetBytes(mail);

    private static string FindDecision(PrivacyStore privacy, Core.Privacy.KeyedHash hash, string messageId) =>
        Assert.Single(privacy.FindByHash([hash.OfMessageId(messageId)], MailKeys.MessageKind)).DecisionId;
}
