using MailKit;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>
/// Corrections on Exchange Online: SmartMail (OAuth2) routes mail into department folders, a caseworker moves some to another
/// department folder with an Exchange-style name, with MOVE and with COPY + delete (as Outlook does on a server without MOVE),
/// and the scanner (also OAuth2) records exactly those as corrections. Mail the caseworker deletes or marks as junk lands in
/// Exchange's Deleted Items and Junk Email, which Exchange does not mark as special-use: that is not a correction.
/// </summary>
public sealed class ExchangeCorrectionTests(DefaultModelFixture model) : IntegrationTest(model)
{
    private const string Department = "Byg og Teknik";

    [Fact]
    public async Task CorrectionsByMoveAndCopy_OnExchange_AreRecorded_DeletedAndJunkAreNot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var exchange = await ExchangeOnline.StartAsync();
        var options = new SmartMailOptions
        {
            DataDirectory = Data.FullName,
            ModelPath = Model.ModelPath,
            Learning = new LearningOptions { ConfirmAfter = TimeSpan.Zero },
        };
        options.Mailboxes.Add(exchange.Options());
        using var store = new SqliteStateStore(Path.Combine(Data.FullName, "state.db"));
        using var examples = new ExampleStore(Path.Combine(Data.FullName, "state.db"));
        using var models = new ModelProvider(options, NullLogger<ModelProvider>.Instance);
        var scanner = new CorrectionScanner(options.Mailboxes[0], options, store, examples, () => models.Policy.Model!.Model.Labels,
            TimeProvider.System, NullLogger.Instance);
        Assert.Equal(0, (await scanner.ScanAsync(ct)).Corrections);

        // SmartMail routes 24 mails (OAuth2 sign-in) into folders named after the labels: on Exchange "sci.space" keeps its dot.
        await exchange.Dovecot.AppendAsync([.. Enumerable.Range(0, 12).SelectMany(i => new[] { Bytes(Mails.Space(i)), Bytes(Mails.Car(i)) })]);
        using (var mailbox = new ImapMailbox(options.Mailboxes[0], store.InstanceId))
        {
            await mailbox.ConnectAsync(ct);
            var processor = new MailProcessor(store, () => models.Policy, new MailExtractor(), mailbox, options, TimeProvider.System,
                NullLogger.Instance, new WorkerMetrics(), examples);
            await processor.DrainAsync(mailbox, 100, ct);
            await mailbox.DisconnectAsync(ct);
        }
        var routed = (await exchange.Dovecot.InventoryAsync()).Where(m => m.Folder is "sci.space" or "rec.autos").ToList();
        Assert.True(routed.Count >= 8, $"{routed.Count} mails routed to department folders");

        // A caseworker files 4 of them under the right department (2 MOVE, 2 COPY + \Deleted + EXPUNGE), deletes one (MOVE to
        // Deleted Items) and reports one as junk (MOVE to Junk Email).
        var corrected = routed.Take(4).Select(m => m.Fingerprint).ToHashSet();
        var deleted = routed[4].Fingerprint;
        var junk = routed[5].Fingerprint;
        using (var client = await exchange.Dovecot.ClientAsync())
        {
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            Assert.Equal(ExchangeOnline.Separator, root.DirectorySeparator);
            var target = await root.CreateAsync(Department, true, ct) ?? throw new InvalidOperationException("folder not created");
            var moves = 0;
            foreach (var source in routed.Select(m => m.Folder).Distinct())
            {
                var folder = await client.GetFolderAsync(source, ct);
                await folder.OpenAsync(FolderAccess.ReadWrite, ct);
                foreach (var summary in await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId, ct))
                {
                    using var stream = await folder.GetStreamAsync(summary.UniqueId, ct);
                    using var buffer = new MemoryStream();
                    await stream.CopyToAsync(buffer, ct);
                    var fingerprint = MailExtractor.Fingerprint(buffer.ToArray());
                    if (fingerprint == deleted || fingerprint == junk)
                    {
                        await folder.MoveToAsync(summary.UniqueId, await client.GetFolderAsync(fingerprint == deleted ? "Deleted Items" : "Junk Email", ct), ct);
                    }
                    else if (corrected.Contains(fingerprint) && moves++ % 2 == 0)
                    {
                        await folder.MoveToAsync(summary.UniqueId, target, ct);
                    }
                    else if (corrected.Contains(fingerprint))
                    {
                        await folder.CopyToAsync(summary.UniqueId, target, ct);
                        await folder.AddFlagsAsync(summary.UniqueId, MessageFlags.Deleted, true, ct);
                        await folder.ExpungeAsync([summary.UniqueId], ct);
                    }
                }
                await folder.CloseAsync(false, ct);
            }
            Assert.Equal(4, moves);
            await client.DisconnectAsync(true, ct);
        }

        var scan = await scanner.ScanAsync(ct);

        Assert.Equal(4, scan.Corrections);
        Assert.Equal(0, (await scanner.ScanAsync(ct)).Corrections);
        var corrections = examples.ReadCorrections();
        Assert.Equal(corrected, corrections.Select(c => c.Fingerprint).ToHashSet());
        Assert.All(corrections, c =>
        {
            Assert.Equal(Department, c.ToLabel);
            Assert.Equal("imap", c.Via);
            Assert.NotNull(c.DecisionId);
        });
        Assert.Equal(4, store.ReadAudit().Count(a => a.Outcome == "corrected" && a.Label == Department));
        Assert.DoesNotContain(store.ReadAudit(), a => a.Fingerprint == deleted && a.Outcome == "corrected");
        Assert.DoesNotContain(store.ReadAudit(), a => a.Fingerprint == junk && a.Outcome == "corrected");
    }

    private static byte[] Bytes(string mail) => System.Text.Encoding.UTF8.GetBytes(mail);
}
