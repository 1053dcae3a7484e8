using MailKit;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Learning;

/// <summary>
/// The whole loop against a real Dovecot: a model that knows two departments routes a batch that includes a third kind of
/// mail; caseworkers move that mail to the right folder (with MOVE and with COPY + EXPUNGE); the scanner records the
/// corrections; a retrain promotes a candidate that knows the new department, with a report explaining the comparison;
/// the running provider swaps it in, and the same kind of mail is now routed right, by the new model version.
/// </summary>
public sealed class LearningLoopTests(DefaultModelFixture model) : IntegrationTest(model)
{
    private const string NewDepartment = "Teknik";

    [Fact]
    public async Task CorrectionsByMoveAndCopy_Retrain_PromotesAndRoutesTheCorrectedKindRight()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var history = TrainingSet.FromFolders(Topics.WriteHistory(Path.Combine(Data.FullName, "history"), 40, Topics.Space, Topics.Cars), new MailExtractor(), cancellationToken: ct);
        var v1Path = Path.Combine(Data.FullName, "v1.zip");
        using (var v1 = ModelTraining.Train(history, new TrainingOptions()).Bundle)
        {
            v1.Save(v1Path);
        }
        var options = new SmartMailOptions
        {
            DataDirectory = Path.Combine(Data.FullName, "state"),
            ModelPath = v1Path,
            Learning = new LearningOptions { ConfirmAfter = TimeSpan.Zero, MinComparisonExamples = 10 },
        };
        options.Mailboxes.Add(dovecot.Options());
        using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        using var examples = new ExampleStore(Path.Combine(options.DataDirectory, "state.db"));
        using var models = new ModelProvider(options, NullLogger<ModelProvider>.Instance, store: store);
        var v1Version = models.Policy.Model!.Manifest.ModelVersion;
        var scanner = new CorrectionScanner(options.Mailboxes[0], options, store, examples, () => models.Policy.Model!.Model.Labels,
            TimeProvider.System, NullLogger.Instance);
        Assert.Equal(0, (await scanner.ScanAsync(ct)).Corrections);

        // 1. v1 routes a batch; it has never seen parking mail.
        await dovecot.AppendAsync([.. Enumerable.Range(0, 30).SelectMany(i => new[]
        {
            Topics.Bytes(Topics.Space, i), Topics.Bytes(Topics.Cars, i), Topics.Bytes(Topics.Parking, i),
        })]);
        await DrainAsync(dovecot, store, models, options, examples, ct);
        var before = await MessagesAsync(dovecot, ct);
        var parking = before.Where(m => m.MessageId.StartsWith("parking-", StringComparison.Ordinal)).Select(m => m.Fingerprint).ToHashSet();
        Assert.Equal(30, parking.Count);
        Assert.DoesNotContain(before, m => m.Folder == NewDepartment);

        // 2. Caseworkers move each parking mail to the right folder: half with MOVE, half with COPY + \Deleted + EXPUNGE.
        using (var client = await dovecot.ClientAsync())
        {
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            var target = await root.CreateAsync(NewDepartment, true, ct) ?? throw new InvalidOperationException("folder not created");
            var moved = 0;
            foreach (var group in before.Where(m => parking.Contains(m.Fingerprint)).GroupBy(m => m.Folder))
            {
                var folder = await client.GetFolderAsync(group.Key, ct);
                await folder.OpenAsync(FolderAccess.ReadWrite, ct);
                foreach (var summary in await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId, ct))
                {
                    using var stream = await folder.GetStreamAsync(summary.UniqueId, ct);
                    using var buffer = new MemoryStream();
                    await stream.CopyToAsync(buffer, ct);
                    if (!parking.Contains(MailExtractor.Fingerprint(buffer.ToArray())))
                    {
                        continue;
                    }
                    if (moved++ % 2 == 0)
                    {
                        await folder.MoveToAsync(summary.UniqueId, target, ct);
                    }
                    else
                    {
                        await folder.CopyToAsync(summary.UniqueId, target, ct);
                        await folder.AddFlagsAsync(summary.UniqueId, MessageFlags.Deleted, true, ct);
                        await folder.ExpungeAsync([summary.UniqueId], ct);
                    }
                }
                await folder.CloseAsync(false, ct);
            }
            Assert.Equal(30, moved);
            await client.DisconnectAsync(true, ct);
        }

        // 3. The scanner records exactly those 30 corrections; SmartMail's own deliveries are not corrections.
        var scan = await scanner.ScanAsync(ct);
        Assert.Equal(30, scan.Corrections);
        Assert.Equal(0, (await scanner.ScanAsync(ct)).Corrections);
        var corrections = examples.ReadCorrections();
        Assert.Equal(parking, corrections.Select(c => c.Fingerprint).ToHashSet());
        Assert.All(corrections, c =>
        {
            Assert.Equal(NewDepartment, c.ToLabel);
            Assert.Equal("imap", c.Via);
            Assert.Equal(v1Version, c.ModelVersion);
            Assert.NotNull(c.DecisionId);
        });
        Assert.Equal(30, store.ReadAudit().Count(a => a.Outcome == "corrected" && a.Label == NewDepartment));

        // 4. Retrain from the history plus the stored examples: the candidate is better on the held-out new mail.
        var registry = ModelRegistry.For(options, store);
        var report = Retrainer.Run(examples, history, registry, new RetrainOptions { MinComparisonExamples = 10, ConfirmAfter = TimeSpan.Zero },
            TimeProvider.System);
        Assert.Equal(RetrainDecision.Promoted, report.Decision);
        Assert.StartsWith("better", report.Reason, StringComparison.Ordinal);
        Assert.Equal(v1Version, report.CurrentVersion);
        Assert.True(report.Candidate!.AutomationAtTarget > report.Current!.AutomationAtTarget);
        Assert.Equal(0, report.Current.PerLabel.Single(l => l.Label == NewDepartment).Recall);
        Assert.Equal(1, report.Candidate.PerLabel.Single(l => l.Label == NewDepartment).Recall);
        Assert.True(report.Data.ComparisonByLabel[NewDepartment] >= 5);
        // The routes v1 got right were kept as examples by the processor and count as confirmed.
        Assert.Equal(30, report.Data.Corrections);
        Assert.InRange(report.Data.ConfirmedRoutes, 40, 60);
        var markdown = await File.ReadAllTextAsync(report.ReportFile!, ct);
        Assert.Contains("automation rate at precision", markdown, StringComparison.Ordinal);
        Assert.Contains($"| {NewDepartment} |", markdown, StringComparison.Ordinal);
        var record = registry.Read();
        Assert.Equal(report.CandidateVersion, record.Current);
        Assert.Equal([v1Version, report.CandidateVersion], record.History.Select(h => h.Version));

        // 5. The running provider swaps the promoted model in; new parking mail now goes to Teknik, decided by the new version.
        Assert.True(models.RefreshIfChanged());
        Assert.Equal(report.CandidateVersion, models.Policy.Model!.Manifest.ModelVersion);
        await dovecot.AppendAsync([.. Enumerable.Range(100, 10).Select(i => Topics.Bytes(Topics.Parking, i))]);
        await DrainAsync(dovecot, store, models, options, examples, ct);
        var after = await MessagesAsync(dovecot, ct);
        var fresh = after.Where(m => m.MessageId is { Length: > 0 } id && int.Parse(id.Split('-', '@')[1], System.Globalization.CultureInfo.InvariantCulture) >= 100)
            .Select(m => m.Fingerprint).ToHashSet();
        Assert.Equal(10, fresh.Count);
        // Routed right or, when the model is not sure enough for the target precision, left to a person: never a wrong department.
        Assert.All(after.Where(m => fresh.Contains(m.Fingerprint)), m => Assert.Contains(m.Folder, new[] { NewDepartment, options.ManualTriageDestination }));
        Assert.InRange(after.Count(m => fresh.Contains(m.Fingerprint) && m.Folder == NewDepartment), 8, 10);
        var decisions = store.ReadAudit().Where(a => fresh.Contains(a.Fingerprint)).ToList();
        Assert.Equal(10, decisions.Count);
        Assert.All(decisions, d => Assert.Equal(report.CandidateVersion, d.ModelVersion));
        // Nothing was lost or doubled along the way: 90 + 10 mails, each once.
        Assert.Equal(100, after.Count);
        Assert.Equal(100, after.Select(m => m.Fingerprint).Distinct().Count());

        // 6. Rollback serves v1 again.
        Assert.Equal(v1Version, registry.Rollback("test"));
        Assert.True(models.RefreshIfChanged());
        Assert.Equal(v1Version, models.Policy.Model!.Manifest.ModelVersion);
    }

    [Fact]
    public async Task TrainFromImap_DepartmentFoldersAreLabels_InboxTriageAndTrashAreNot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        using (var client = await dovecot.ClientAsync())
        {
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            foreach (var name in new[] { "Rumfart", "Biler", "_manual-triage", "Trash" })
            {
                await root.CreateAsync(name, true, ct);
            }
            await client.DisconnectAsync(true, ct);
        }
        await dovecot.AppendAsync([.. Enumerable.Range(0, 12).Select(i => Topics.Bytes(Topics.Space, i))], "Rumfart");
        await dovecot.AppendAsync([.. Enumerable.Range(0, 15).Select(i => Topics.Bytes(Topics.Cars, i))], "Biler");
        await dovecot.AppendAsync([Topics.Bytes(Topics.Parking, 1)], "_manual-triage");
        await dovecot.AppendAsync([Topics.Bytes(Topics.Parking, 2)], "INBOX");
        var options = new SmartMailOptions { DataDirectory = Data.FullName, ModelPath = Model.ModelPath };
        var progress = new List<(string Folder, int Done, int Total)>();

        var set = await ImapHistory.ReadAsync(dovecot.Options(), options, [], [], 10, new SyncProgress<(string, int, int)>(progress.Add), ct);

        Assert.Equal("imap", set.SourceKind);
        Assert.Equal(new Dictionary<string, int> { ["Biler"] = 10, ["Rumfart"] = 10 }, set.LabelCounts);
        Assert.Contains(("Biler", 10, 10), progress);
        var missing = await Assert.ThrowsAsync<TrainingDataException>(() =>
            ImapHistory.ReadAsync(dovecot.Options(), options, ["Jura"], [], 10, null, ct));
        Assert.Contains("no department folder 'Jura'", missing.Message, StringComparison.Ordinal);
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static async Task<List<(string Folder, string MessageId, string Fingerprint)>> MessagesAsync(Dovecot dovecot, CancellationToken ct)
    {
        using var client = await dovecot.ClientAsync();
        var result = new List<(string, string, string)>();
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        foreach (var folder in await root.GetSubfoldersAsync(false, ct))
        {
            await folder.OpenAsync(FolderAccess.ReadOnly, ct);
            foreach (var summary in folder.Count == 0 ? [] : await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Envelope, ct))
            {
                using var stream = await folder.GetStreamAsync(summary.UniqueId, ct);
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, ct);
                result.Add((folder.FullName, summary.Envelope?.MessageId ?? "", MailExtractor.Fingerprint(buffer.ToArray())));
            }
            await folder.CloseAsync(false, ct);
        }
        await client.DisconnectAsync(true, ct);
        return result;
    }

    private static async Task DrainAsync(Dovecot dovecot, SqliteStateStore store, ModelProvider models, SmartMailOptions options, ExampleStore examples,
        CancellationToken ct)
    {
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(ct);
        var processor = new MailProcessor(store, () => models.Policy, new MailExtractor(), mailbox, options, TimeProvider.System,
            NullLogger.Instance, new WorkerMetrics(), examples);
        await processor.DrainAsync(mailbox, 100, ct);
        await mailbox.DisconnectAsync(ct);
    }
}
