using System.Text;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, finding 4: IMAP fetched a whole batch (up to 500 mails) into memory before any size check. The real worker
/// process under a GC heap limit of 384 MB, default settings (BatchSize 500, BatchMegabytes 64, MaxMessageMegabytes 50): ten
/// mails with an 18 MB attachment (24.6 MB on the wire, base64) are fetched two at a time, the batches the byte budget allows,
/// and a 45 MB mail (60 MB on the wire) goes to quarantine unfetched. On 479f859 the first batch alone fetched all of it and
/// the worker died of it, again at every restart. With byte-sized batches it still died after three or four batches: every
/// thread that had extracted a mail kept that mail alive through its reused MIME parser, the parser copied each part, and the
/// drain kept the last batch's bodies while it fetched the next (measured: 50 MB more live heap per batch). Now the live heap
/// is the worker's own (about 80 MB, most of it the model) plus one batch's bodies (docs/reliability.md, "Large mail").
/// </summary>
public sealed class LargeMailTests(DefaultModelFixture model, ITestOutputHelper output) : IntegrationTest(model)
{
    private const int Large = 10;

    [Fact]
    public async Task LargeMails_UnderAMemoryCap_AreRoutedInByteSizedBatches_AndTheOversizedOneQuarantinedUnfetched()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var db = Path.Combine(Data.FullName, "state.db");
        var mails = Enumerable.Range(0, Large).Select(n => Mail(n, 18 * 1024 * 1024)).Append(Mail(99, 45 * 1024 * 1024)).Append(Encoding.UTF8.GetBytes(Mails.Car(1))).ToList();
        var fingerprints = await dovecot.AppendFingerprintedAsync(mails);
        var memoryCap = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x18000000" }; // 384 MB

        using (var worker = WorkerProcess.Start(dovecot, Data.FullName, Model.ModelPath, batchSize: 500, Log, environment: memoryCap))
        {
            await WorkerProcess.WaitUntil(() => WorkerProcess.Acknowledged(db) == mails.Count || worker.HasExited, TimeSpan.FromMinutes(5));
            Assert.False(worker.HasExited, "the worker died under the memory cap");
            await worker.KillAsync();
        }

        Assert.Equal(mails.Count, WorkerProcess.Acknowledged(db));
        var quarantined = WorkerProcess.Query(db, "SELECT decision_json FROM mail WHERE destination = '_quarantine'");
        var reason = Assert.Single(quarantined);
        Assert.Contains("without fetching its body", reason, StringComparison.Ordinal);
        Assert.Empty(WorkerProcess.Query(db, $"SELECT 1 FROM mail WHERE fingerprint = '{fingerprints[Large]}'")); // its bytes were never read
        var inventory = await dovecot.InventoryAsync();
        Assert.Equal("_quarantine", Assert.Single(inventory, m => m.Fingerprint == fingerprints[Large]).Folder);
        Assert.All(fingerprints.Take(Large), fp => Assert.NotEqual("_quarantine", Assert.Single(inventory, m => m.Fingerprint == fp).Folder));
    }

    // A letter with an attachment of random bytes (base64: about 4/3 of attachmentBytes on the wire).
    private static byte[] Mail(int n, int attachmentBytes)
    {
        var random = new Random(n);
        var payload = new byte[attachmentBytes];
        random.NextBytes(payload);
        var text = new StringBuilder()
            .Append(CultureInfo($"From: sender{n}@example.org\r\nSubject: Scanned documents {n}\r\nMessage-ID: <large-{n}@example.org>\r\n"))
            .Append("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
            .Append("--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy car engine makes a noise after the oil change; scans attached.\r\n")
            .Append("--b\r\nContent-Type: application/octet-stream; name=\"scan.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
            .Append(Convert.ToBase64String(payload, Base64FormattingOptions.InsertLineBreaks))
            .Append("\r\n--b--\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static string CultureInfo(FormattableString s) => FormattableString.Invariant(s);

    private void Log(string line) => WorkerProcess.WarningsTo(output)(line);
}
