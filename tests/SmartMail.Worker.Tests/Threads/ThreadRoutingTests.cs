using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Threads;

/// <summary>
/// Replies follow their thread, against a real Dovecot on 127.0.0.1 with real SQLite and the shipped model: a reply to a
/// routed mail goes where that mail went, a reply to a caseworker's answer filed in a department folder goes to that
/// folder, a reply whose thread is unknown goes to the model; and a case number in the subject routes by its series.
/// </summary>
public sealed class ThreadRoutingTests(DefaultModelFixture model) : IntegrationTest(model)
{
    private const string CarText = """
        My car makes a ticking noise from the engine since the dealer changed the oil. The mechanic says the
        valves are fine. Could the wrong oil cause this? It is a sedan with a V6, the brakes and tires are new.
        """;

    private const string SpaceText = """
        When is the next NASA shuttle launch to the space station? The orbiter is on the pad and the
        satellite payload is ready. How long is the countdown before launch?
        """;

    private static byte[] Mail(string messageId, string subject, string body, string? inReplyTo = null, string from = "ann@example.org")
    {
        var headers = new StringBuilder()
            .Append("From: ").Append(from).Append("\r\n")
            .Append("Subject: ").Append(subject).Append("\r\n")
            .Append("Message-ID: <").Append(messageId).Append(">\r\n");
        if (inReplyTo is not null)
        {
            headers.Append("In-Reply-To: <").Append(inReplyTo).Append(">\r\nReferences: <").Append(inReplyTo).Append(">\r\n");
        }
        headers.Append("Content-Type: text/plain; charset=utf-8\r\n\r\n").Append(body.Replace("\n", "\r\n", StringComparison.Ordinal)).Append("\r\n");
        return Encoding.UTF8.GetBytes(headers.ToString());
    }

    private SmartMailOptions Options(Dovecot dovecot, params CaseNumberRule[] caseNumbers)
    {
        var options = new SmartMailOptions
        {
            DataDirectory = Path.Combine(Data.FullName, "state"),
            ModelPath = Model.ModelPath,
            CaseNumbers = [.. caseNumbers],
        };
        options.Mailboxes.Add(dovecot.Options());
        return options;
    }

    // The shipped model, loaded once per class (the case-number test goes through ModelProvider, as the worker does).
    private Func<RoutingPolicy> Policy(SmartMailOptions options) => () => new RoutingPolicy(options.Rules, Model.Bundle, options.CaseNumbers);

    private static async Task DrainAsync(Dovecot dovecot, SqliteStateStore store, Func<RoutingPolicy> policy, SmartMailOptions options, CancellationToken ct)
    {
        using var mailbox = new ImapMailbox(dovecot.Options(), store.InstanceId);
        await mailbox.ConnectAsync(ct);
        var processor = new MailProcessor(store, policy, new MailExtractor(), mailbox, options, TimeProvider.System,
            NullLogger.Instance, new WorkerMetrics());
        await processor.DrainAsync(mailbox, 100, ct);
        await mailbox.DisconnectAsync(ct);
    }

    private static string FolderOf(string destination) => FolderJournalSink.SafeName(destination).Replace('.', '_');

    private static AuditEntry Decision(SqliteStateStore store, string fingerprint) =>
        Assert.Single(store.ReadAudit(), a => a.Fingerprint == fingerprint && a.Outcome is "routed" or "manual" or "quarantined");

    // What the model alone says about a mail (so a test shows the thread, not the model, decided).
    private string? ModelLabel(byte[] raw) => new RoutingPolicy([], Model.Bundle).Decide(new MailExtractor().Extract(raw)).Label;

    [Fact]
    public async Task Reply_ToRoutedMail_FollowsItThoughTheModelWouldRouteItElsewhere()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        var policy = Policy(options);
        var parent = (await dovecot.AppendFingerprintedAsync([Mail("launch-1@example.org", "Shuttle launch question", SpaceText)]))[0];
        await DrainAsync(dovecot, store, policy, options, ct);
        var parentDecision = Decision(store, parent);
        Assert.Equal(("model", "sci.space"), (parentDecision.Source, parentDecision.Label));

        // The citizen answers in the same thread, but writes about their car.
        var replyBytes = Mail("reply-1@example.org", "Re: Shuttle launch question", CarText, inReplyTo: "launch-1@example.org");
        Assert.Equal("rec.autos", ModelLabel(replyBytes));
        var reply = (await dovecot.AppendFingerprintedAsync([replyBytes]))[0];
        await DrainAsync(dovecot, store, policy, options, ct);

        var decision = Decision(store, reply);
        Assert.Equal(("thread", "sci.space", "routed"), (decision.Source, decision.Label, decision.Outcome));
        Assert.Contains(parentDecision.DecisionId, decision.Reason);
        var inventory = await dovecot.InventoryAsync();
        Assert.Equal(FolderOf(parentDecision.Destination), Assert.Single(inventory, m => m.Fingerprint == reply).Folder);
        var record = store.FindDelivered("test", reply) ?? throw new InvalidOperationException("the reply was not delivered");
        using var json = JsonDocument.Parse(record.DecisionJson!);
        Assert.Equal("thread", json.RootElement.GetProperty("source").GetString());
        Assert.Equal(parentDecision.DecisionId, json.RootElement.GetProperty("parentDecisionId").GetString());
    }

    [Fact]
    public async Task Reply_ToCaseworkersAnswerInDepartmentFolder_FollowsThatFolder()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        using var examples = new ExampleStore(Path.Combine(options.DataDirectory, "state.db"));
        var policy = Policy(options);
        var scanner = new CorrectionScanner(options.Mailboxes[0], options, store, examples, () => Model.Bundle.Model.Labels,
            TimeProvider.System, NullLogger.Instance);
        await scanner.ScanAsync(ct); // the first scan starts each folder at its end: history predates SmartMail

        // A caseworker in the (new) Teknik department answers a citizen and files the answer in the department's folder.
        using (var client = await dovecot.ClientAsync())
        {
            await client.GetFolder(client.PersonalNamespaces[0]).CreateAsync("Teknik", true, ct);
            await client.DisconnectAsync(true, ct);
        }
        await dovecot.AppendAsync([Mail("svar-7@kommune.example.dk", "Svar på din henvendelse", "Vi har modtaget din henvendelse.",
            from: "sagsbehandler@kommune.example.dk")], "Teknik");
        await scanner.ScanAsync(ct);

        var replyBytes = Mail("reply-7@example.org", "Re: Svar på din henvendelse", SpaceText, inReplyTo: "svar-7@kommune.example.dk");
        Assert.Equal("sci.space", ModelLabel(replyBytes));
        var reply = (await dovecot.AppendFingerprintedAsync([replyBytes]))[0];
        await DrainAsync(dovecot, store, policy, options, ct);

        var decision = Decision(store, reply);
        Assert.Equal(("thread", "Teknik"), (decision.Source, decision.Label));
        Assert.Contains("department folder 'Teknik'", decision.Reason);
        Assert.Equal("Teknik", Assert.Single(await dovecot.InventoryAsync(), m => m.Fingerprint == reply).Folder);
    }

    [Fact]
    public async Task Reply_WhoseThreadIsUnknown_GoesToTheModel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        var policy = Policy(options);
        await dovecot.AppendAsync([Mail("launch-2@example.org", "Shuttle launch question", SpaceText)]);
        await DrainAsync(dovecot, store, policy, options, ct);

        var reply = (await dovecot.AppendFingerprintedAsync([Mail("reply-2@example.org", "Re: an old question", CarText, inReplyTo: "never-seen@example.org")]))[0];
        await DrainAsync(dovecot, store, policy, options, ct);

        var decision = Decision(store, reply);
        Assert.Equal(("model", "rec.autos"), (decision.Source, decision.Label));
        Assert.Equal(FolderOf("rec.autos"), Assert.Single(await dovecot.InventoryAsync(), m => m.Fingerprint == reply).Folder);
    }

    [Fact]
    public async Task MailDecidedByItsAttachment_AuditRowAndDecisionRecordSayAttachment()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot);
        using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        // "Please see the attached form." and a PDF about a shuttle launch (plus an encrypted PDF and an image).
        var raw = await File.ReadAllBytesAsync(Path.Combine(Model.RepositoryRoot, "tests", "SmartMail.Cli.Tests", "TestData", "form-with-attachments.eml"), ct);
        var fingerprint = (await dovecot.AppendFingerprintedAsync([raw]))[0];

        await DrainAsync(dovecot, store, Policy(options), options, ct);

        var decision = Decision(store, fingerprint);
        Assert.Equal(("model", "sci.space"), (decision.Source, decision.Label));
        Assert.Contains("decided by attachment terms: launch", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("(bilag: launch-form.pdf", decision.Reason, StringComparison.Ordinal);
        var record = store.FindDelivered("test", fingerprint) ?? throw new InvalidOperationException("not delivered");
        using var json = JsonDocument.Parse(record.DecisionJson!);
        Assert.Contains("launch", json.RootElement.GetProperty("attachmentTerms").EnumerateArray().Select(t => t.GetString()));
        Assert.Contains("launch-form.pdf", json.RootElement.GetProperty("attachmentFiles").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task CaseNumberInSubject_RoutesToTheSeriesOwner_BeforeThreadAndModel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        var options = Options(dovecot, new CaseNumberRule
        {
            Name = "sagsnr",
            Pattern = @"SagsNr\s*(\d{2}\.\d{2})\.\d{2}-[A-Z]\d{2}-\d+-\d{2}",
            Series = { ["27.24"] = "boligstoette", ["02"] = "byggeri" },
        });
        using var store = new SqliteStateStore(Path.Combine(options.DataDirectory, "state.db"));
        using var models = new ModelProvider(options, NullLogger<ModelProvider>.Instance);
        var mail = Mail("case-1@example.org", "Vedr. SagsNr 27.24.00-G01-12-24", SpaceText);
        Assert.Equal("sci.space", ModelLabel(mail));
        var fingerprint = (await dovecot.AppendFingerprintedAsync([mail]))[0];

        await DrainAsync(dovecot, store, () => models.Policy, options, ct);

        var decision = Decision(store, fingerprint);
        Assert.Equal(("rule", "boligstoette", "sagsnr"), (decision.Source, decision.Label, decision.Rule));
        Assert.Contains("series '27.24'", decision.Reason);
        Assert.Equal("boligstoette", Assert.Single(await dovecot.InventoryAsync(), m => m.Fingerprint == fingerprint).Folder);
    }
}
