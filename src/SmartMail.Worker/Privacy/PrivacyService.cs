using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SmartMail.Core.Mime;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Privacy;

/// <summary>
/// One person's data, everywhere SmartMail keeps it: <see cref="Find"/> lists every place (journal files, the state
/// store's rows, the audit trail, model versions trained on it, mail not yet routed), <see cref="Export"/> packs it for
/// a request for access (GDPR art. 15) and <see cref="Erase"/> removes or pseudonymises it (art. 17). Each is an audit
/// row naming who asked and how much, with no personal data.
/// </summary>
/// <param name="options">The worker's options (data directory, journal, inbox, mailboxes).</param>
/// <param name="store">The state store's side.</param>
/// <param name="state">The ledger (for the audit rows).</param>
/// <param name="hash">The installation's keyed hash.</param>
/// <param name="time">The clock.</param>
public sealed class PrivacyService(SmartMailOptions options, IPrivacyStore store, IStateStore state, KeyedHash hash, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The installation's keyed hash.</summary>
    public KeyedHash Hash => hash;

    /// <summary>Every place that holds something of the person.</summary>
    /// <param name="query">Who.</param>
    /// <param name="by">Who asked (for the audit row).</param>
    /// <param name="audit">Whether to write the audit row (not when <see cref="Export"/> or <see cref="Erase"/> calls).</param>
    /// <returns>The findings.</returns>
    public PrivacyFindings Find(PersonQuery query, string by, bool audit = true)
    {
        ArgumentNullException.ThrowIfNull(query);
        var journal = JournalFiles();
        Backfill(journal);
        var found = new Dictionary<string, MailRef>(StringComparer.Ordinal);
        if (query.Hash(hash) is { } h)
        {
            Add(found, store.FindByHash([h], query.Kind == "cpr" ? MailKeys.CprKind : MailKeys.AddressKind));
        }
        else
        {
            Add(found, store.FindByText(query.Value));
            Add(found, ScanJournalForName(journal, query.Value));
        }
        // The thread: replies to these mails, and the mails they answer.
        for (var round = 0; round < 10; round++)
        {
            var before = found.Count;
            Add(found, store.FindByHash(store.KeysOf([.. found.Values], MailKeys.MessageKind), MailKeys.ParentKind));
            Add(found, store.FindByHash(store.KeysOf([.. found.Values], MailKeys.ParentKind), MailKeys.MessageKind));
            if (found.Count == before)
            {
                break;
            }
        }
        var auditLines = AuditFileLines(found.Keys);
        var mails = found.Values.OrderBy(m => m.Mailbox, StringComparer.Ordinal).ThenBy(m => m.DecisionId, StringComparer.Ordinal)
            .Select(m => Describe(m, journal, auditLines)).ToList();
        var findings = new PrivacyFindings(query.Describe(hash), time.GetUtcNow(), mails, ScanInbox(query),
            store.ModelsTrainedOn([.. found.Values.Select(m => hash.OfExample(m.Mailbox, m.Fingerprint))]));
        if (audit)
        {
            Audit(by, "privacy-find", $"privacy find by {query.Kind}: {findings.Mails.Count} mails in {findings.PlaceCount} places, " +
                $"{findings.Inbox.Count} not yet routed, {findings.Models.Count} model versions");
        }
        return findings;
    }

    /// <summary>
    /// Removes or pseudonymises every place of <paramref name="findings"/> in one step: journal files deleted, store rows
    /// deleted (the ledger row pseudonymised), model versions trained on the mail flagged; mail not yet delivered is
    /// erased once it is. Writes one audit row.
    /// </summary>
    /// <param name="findings">What <see cref="Find"/> returned.</param>
    /// <param name="by">Who.</param>
    /// <param name="dryRun">Only say what would be done.</param>
    /// <returns>What was (or would be) done.</returns>
    public ErasureResult Erase(PrivacyFindings findings, string by, bool dryRun)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var requestId = "privacy-" + Guid.NewGuid().ToString("N")[..16];
        var delivered = findings.Mails.Where(m => !m.InFlight).ToList();
        var pending = findings.Mails.Where(m => m.InFlight).Select(m => m.Mail.Fingerprint).Concat(findings.Inbox.Select(i => i.Fingerprint))
            .Distinct(StringComparer.Ordinal).ToList();
        var files = delivered.SelectMany(m => m.Places).Where(p => p.Kind is PlaceKind.JournalMail or PlaceKind.JournalDecision).ToList();
        var result = new ErasureResult(requestId, delivered.Count, delivered.Sum(m => m.Places.Count(p => p.Kind != PlaceKind.Audit && p.Kind != PlaceKind.AuditFile)),
            pending.Count, findings.Models, dryRun);
        if (dryRun)
        {
            return result;
        }
        foreach (var file in files)
        {
            File.Delete(Path.Combine(options.DataDirectory, file.Location));
        }
        if (pending.Count > 0)
        {
            store.AddPending(pending, requestId, time.GetUtcNow());
        }
        store.EraseMails([.. delivered.Select(m => m.Mail)], findings.Models, requestId, time.GetUtcNow());
        Audit(by, "privacy-erase", $"privacy erasure {requestId}: {result.Mails} mails, {result.Places} places removed or pseudonymised, " +
            $"{result.Pending} waiting for delivery, {result.Models.Count} model versions flagged", requestId);
        return result;
    }

    /// <summary>Erases mail whose erasure was asked before it was delivered, now that it is.</summary>
    /// <param name="by">Who (the request's original asker is in its audit row).</param>
    /// <returns>How many mails were erased.</returns>
    public int ErasePending(string by)
    {
        var due = store.PendingDelivered();
        if (due.Count == 0)
        {
            return 0;
        }
        var journal = JournalFiles();
        foreach (var request in due.GroupBy(d => d.RequestId, StringComparer.Ordinal))
        {
            var mails = request.Select(r => r.Mail).DistinctBy(m => m.DecisionId).ToList();
            foreach (var file in mails.SelectMany(m => journal.GetValueOrDefault(m.DecisionId) ?? []))
            {
                File.Delete(file);
            }
            var models = store.ModelsTrainedOn([.. mails.Select(m => hash.OfExample(m.Mailbox, m.Fingerprint))]);
            store.EraseMails(mails, models, request.Key, time.GetUtcNow());
            Audit(by, "privacy-erase", $"privacy erasure {request.Key} completed on delivery: {mails.Count} mails", request.Key);
        }
        return due.Count;
    }

    /// <summary>
    /// Writes the art. 15 package: the person's mails as .eml, the decisions as JSON, the text kept for training where
    /// the original is not in the journal, and a README in Danish and English. The file is readable by its owner only.
    /// </summary>
    /// <param name="findings">What <see cref="Find"/> returned.</param>
    /// <param name="zipPath">The zip to write (must not exist).</param>
    /// <param name="by">Who.</param>
    /// <returns>How many files the package holds.</returns>
    public int Export(PrivacyFindings findings, string zipPath, string by)
    {
        ArgumentNullException.ThrowIfNull(findings);
        ArgumentNullException.ThrowIfNull(zipPath);
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        var count = 0;
        using (var stream = new FileStream(zipPath, fileOptions))
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create))
        {
            var n = 0;
            foreach (var mail in findings.Mails)
            {
                n++;
                var stem = $"{n:D3}-{Sinks.FolderJournalSink.SafeFileName(mail.Mail.DecisionId)}";
                var eml = mail.Places.FirstOrDefault(p => p.Kind == PlaceKind.JournalMail);
                if (eml is not null)
                {
                    Add(zip, $"mails/{stem}.eml", File.ReadAllBytes(Path.Combine(options.DataDirectory, eml.Location)));
                    count++;
                }
                var ledger = store.LedgerOf(mail.Mail);
                var decision = ledger.Count > 0 ? ledger[^1].DecisionJson : null;
                if (decision is not null)
                {
                    Add(zip, $"decisions/{stem}.json", Encoding.UTF8.GetBytes(decision));
                    count++;
                }
            }
            foreach (var inbox in findings.Inbox)
            {
                n++;
                Add(zip, $"not-yet-routed/{n:D3}.eml", File.ReadAllBytes(Path.Combine(options.DataDirectory, inbox.Location)));
                count++;
            }
            Add(zip, "places.json", JsonSerializer.SerializeToUtf8Bytes(findings, Json));
            Add(zip, "README.txt", Encoding.UTF8.GetBytes(Readme(findings)));
            count += 2;
        }
        Audit(by, "privacy-export", $"privacy export by {findings.Query.Split(' ')[0].ToLowerInvariant()}: {findings.Mails.Count} mails, {count} files");
        return count;
    }

    private static string Readme(PrivacyFindings f) => $"""
        SmartMail — indsigt i egne oplysninger (databeskyttelsesforordningen art. 15)
        ========================================================================
        Pakken er lavet {f.Time:yyyy-MM-dd HH:mm} UTC og indeholder de oplysninger, SmartMail har om dig:
        - mails/: dine mails, som de blev modtaget (.eml kan åbnes i et mailprogram).
        - decisions/: for hver mail SmartMails afgørelse: hvilken afdeling den blev sendt til, hvor sikker modellen var,
          og hvorfor (regel, model eller manuel behandling af en medarbejder).
        - not-yet-routed/: mails, der endnu ikke var fordelt, da pakken blev lavet.
        - places.json: hvert sted, SmartMail opbevarer noget om mailen (journal, database, revisionsspor, modeller).
        Mails, der er fordelt til en afdelings postkasse, ligger også dér; kommunen besvarer dem efter sine egne regler.
        SmartMail-modeller lærer af ordene i mails (uden CPR-numre og adresser), ikke af hele mails.
        {f.Mails.Count} mails, {f.Inbox.Count} endnu ikke fordelt, {f.Models.Count} modelversioner trænet på dem.

        SmartMail — access to your personal data (GDPR art. 15)
        ========================================================
        This package was made at {f.Time:yyyy-MM-dd HH:mm} UTC and holds the data SmartMail keeps about you:
        - mails/: your mails as received (.eml opens in any mail program).
        - decisions/: for each mail SmartMail's decision: the department it was routed to, how confident the model was,
          and why (a rule, the model, or a caseworker's manual handling).
        - not-yet-routed/: mails not yet routed when the package was made.
        - places.json: every place SmartMail keeps something of the mail (journal, database, audit trail, models).
        Mail routed to a department's mailbox is also there; the municipality answers for it under its own rules.
        SmartMail's models learn from the words of mails (without CPR numbers or addresses), not whole mails.
        {f.Mails.Count} mails, {f.Inbox.Count} not yet routed, {f.Models.Count} model versions trained on them.
        """;

    private static void Add(ZipArchive zip, string name, byte[] content)
    {
        using var entry = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
        entry.Write(content);
    }

    private FoundMail Describe(MailRef mail, Dictionary<string, List<string>> journal, Dictionary<string, int> auditLines)
    {
        var places = new List<StorePlace>();
        foreach (var file in journal.GetValueOrDefault(mail.DecisionId) ?? [])
        {
            places.Add(new StorePlace(file.EndsWith(".eml", StringComparison.Ordinal) ? PlaceKind.JournalMail : PlaceKind.JournalDecision,
                Path.GetRelativePath(options.DataDirectory, file), 1,
                file.EndsWith(".eml", StringComparison.Ordinal) ? "the mail as received, in full" : "the decision record for the case system"));
        }
        var ledger = store.LedgerOf(mail);
        var imap = options.Mailboxes.Any(m => m.Name == mail.Mailbox);
        foreach (var row in ledger.Where(r => imap && r.State >= MailState.Delivered))
        {
            places.Add(new StorePlace(PlaceKind.Mailbox, $"IMAP mailbox {mail.Mailbox}, folder {row.Destination}", 1,
                "the mail in the department's folder, outside SmartMail's data directory: the municipality's mail system keeps it"));
        }
        places.AddRange(store.PlacesOf(mail, hash.OfExample(mail.Mailbox, mail.Fingerprint)));
        if (auditLines.GetValueOrDefault(mail.DecisionId) is > 0 and var lines)
        {
            places.Add(new StorePlace(PlaceKind.AuditFile, "audit.jsonl", lines, "audit rows' copy: no CPR, no address, no text (kept)"));
        }
        MailState? state = ledger.Count == 0 ? null : ledger.Max(r => r.State);
        return new FoundMail(mail, state?.ToString() ?? "unknown", state is { } s && s < MailState.Delivered, places);
    }

    private static void Add(Dictionary<string, MailRef> found, IEnumerable<MailRef> mails)
    {
        foreach (var mail in mails)
        {
            found.TryAdd(mail.DecisionId, mail);
        }
    }

    // Decision id -> its .eml and .json in the journal (ROOT/DESTINATION/ID.eml): one directory listing, no file read.
    private Dictionary<string, List<string>> JournalFiles()
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!Directory.Exists(options.JournalPath))
        {
            return result;
        }
        foreach (var file in Directory.EnumerateFiles(options.JournalPath, "*", SearchOption.AllDirectories))
        {
            var extension = Path.GetExtension(file);
            if (extension is not (".eml" or ".json"))
            {
                continue;
            }
            var id = Path.GetFileNameWithoutExtension(file);
            if (!result.TryGetValue(id, out var list))
            {
                result[id] = list = [];
            }
            list.Add(file);
        }
        return result;
    }

    // Journal mails decided before the index existed (or by a processor without it) are read once and indexed.
    private void Backfill(Dictionary<string, List<string>> journal)
    {
        var indexed = store.IndexedDecisions();
        var extractor = new MailExtractor(options.Extraction);
        var batch = new List<IndexedMail>();
        foreach (var (id, files) in journal)
        {
            if (indexed.Contains(id) || files.FirstOrDefault(f => f.EndsWith(".eml", StringComparison.Ordinal)) is not { } eml
                || files.FirstOrDefault(f => f.EndsWith(".json", StringComparison.Ordinal)) is not { } json
                || ReadDecision(json) is not (string decisionId, string mailbox, _))
            {
                continue;
            }
            var document = extractor.Extract(File.ReadAllBytes(eml));
            batch.Add(new IndexedMail(new MailRef(mailbox, document.Fingerprint, decisionId), MailKeys.Of(hash, document), File.GetLastWriteTimeUtc(eml)));
        }
        store.Index(batch);
    }

    private static (string? DecisionId, string? Mailbox, string? Fingerprint) ReadDecision(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            string? Field(string name) => doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return (Field("decisionId"), Field("mailbox"), Field("fingerprint"));
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    // A name has no keyed hash: every journal mail is read (the subject, the text, the names on From, To and Cc).
    private static List<MailRef> ScanJournalForName(Dictionary<string, List<string>> journal, string name)
    {
        var result = new List<MailRef>();
        foreach (var (_, files) in journal)
        {
            if (files.FirstOrDefault(f => f.EndsWith(".eml", StringComparison.Ordinal)) is not { } eml
                || files.FirstOrDefault(f => f.EndsWith(".json", StringComparison.Ordinal)) is not { } json
                || ReadDecision(json) is not (string decisionId, string mailbox, string fingerprint))
            {
                continue;
            }
            if (Mentions(File.ReadAllBytes(eml), name))
            {
                result.Add(new MailRef(mailbox, fingerprint, decisionId));
            }
        }
        return result;
    }

    private static bool Mentions(byte[] raw, string name)
    {
        try
        {
            using var stream = new MemoryStream(raw, writable: false);
            var message = MimeKit.MimeMessage.Load(stream);
            var names = message.From.Concat(message.To).Concat(message.Cc).Select(a => a.Name ?? "");
            var text = new MailExtractor().Extract(raw);
            return names.Append(text.Subject).Append(text.Body).Any(t => t.Contains(name, StringComparison.OrdinalIgnoreCase));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    // Mail in the drop-folder inbox is not yet decided: read and matched as it is.
    private List<InboxMail> ScanInbox(PersonQuery query)
    {
        var result = new List<InboxMail>();
        if (!Directory.Exists(options.InboxPath))
        {
            return result;
        }
        var wanted = query.Hash(hash);
        var extractor = new MailExtractor(options.Extraction);
        foreach (var file in Directory.EnumerateFiles(options.InboxPath, "*.eml"))
        {
            var raw = File.ReadAllBytes(file);
            var document = extractor.Extract(raw);
            var match = wanted is null ? Mentions(raw, query.Value) : MailKeys.Of(hash, document).Any(k => k.Hash == wanted);
            if (match)
            {
                result.Add(new InboxMail(Path.GetRelativePath(options.DataDirectory, file), document.Fingerprint));
            }
        }
        return result;
    }

    // audit.jsonl lines per decision id (a line names its decision: "decisionId":"...").
    private Dictionary<string, int> AuditFileLines(IEnumerable<string> decisionIds)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var wanted = decisionIds.ToHashSet(StringComparer.Ordinal);
        var path = state.AuditFile ?? Path.Combine(options.DataDirectory, "audit.jsonl");
        if (wanted.Count == 0 || !File.Exists(path))
        {
            return result;
        }
        const string Marker = "\"decisionId\":\"";
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is { } line)
        {
            var at = line.IndexOf(Marker, StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }
            var start = at + Marker.Length;
            var end = line.IndexOf('"', start);
            if (end > start && wanted.Contains(line[start..end]))
            {
                result[line[start..end]] = result.GetValueOrDefault(line[start..end]) + 1;
            }
        }
        return result;
    }

    private void Audit(string by, string outcome, string reason, string? requestId = null) =>
        state.AppendAudit(new AuditEntry
        {
            Time = time.GetUtcNow(),
            DecisionId = requestId ?? "privacy-" + Guid.NewGuid().ToString("N")[..16],
            Fingerprint = "-",
            Mailbox = "*",
            Source = "privacy",
            Reason = reason,
            Destination = "-",
            Outcome = outcome,
            By = by,
        });
}

/// <summary>What <see cref="PrivacyService.Find"/> found.</summary>
/// <param name="Query">The request in words, without personal data.</param>
/// <param name="Time">When.</param>
/// <param name="Mails">The decided mails and their places.</param>
/// <param name="Inbox">Mail in the drop-folder inbox, not yet routed.</param>
/// <param name="Models">Model versions trained on any of the mails.</param>
public sealed record PrivacyFindings(string Query, DateTimeOffset Time, IReadOnlyList<FoundMail> Mails, IReadOnlyList<InboxMail> Inbox,
    IReadOnlyList<string> Models)
{
    /// <summary>How many places in all.</summary>
    public int PlaceCount => Mails.Sum(m => m.Places.Count) + Inbox.Count;
}

/// <summary>A decided mail of the person and where it is.</summary>
/// <param name="Mail">The mail.</param>
/// <param name="State">Its ledger state.</param>
/// <param name="InFlight">Not yet delivered: erased once it is.</param>
/// <param name="Places">Where something of it is kept.</param>
public sealed record FoundMail(MailRef Mail, string State, bool InFlight, IReadOnlyList<StorePlace> Places);

/// <summary>A mail in the drop-folder inbox, not yet routed.</summary>
/// <param name="Location">Its file, relative to the data directory.</param>
/// <param name="Fingerprint">Its fingerprint.</param>
public sealed record InboxMail(string Location, string Fingerprint);

/// <summary>What <see cref="PrivacyService.Erase"/> did (or would do).</summary>
/// <param name="RequestId">The erasure's id (in its audit row).</param>
/// <param name="Mails">Mails erased.</param>
/// <param name="Places">Places removed or pseudonymised.</param>
/// <param name="Pending">Mails to erase once delivered.</param>
/// <param name="Models">Model versions flagged as trained on erased mail.</param>
/// <param name="DryRun">Nothing was changed.</param>
public sealed record ErasureResult(string RequestId, int Mails, int Places, int Pending, IReadOnlyList<string> Models, bool DryRun);
