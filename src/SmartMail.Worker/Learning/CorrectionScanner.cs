using System.Text.Json;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using SmartMail.Core;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

/// <summary>
/// Notices caseworkers' corrections in one IMAP mailbox. A caseworker corrects a route by moving the mail in their mail
/// client: out of manual triage (or quarantine) into a department folder, or from the wrong department folder into the
/// right one. Whether the client uses MOVE or COPY + delete, the mail appears as a new message in the department folder
/// with the same bytes; the scanner looks at each department folder's new messages, finds each in the ledger by its
/// fingerprint, and records a correction when the folder's label differs from the label the mail has. Mail SmartMail
/// never decided (filed by hand) is left alone. Its own connection; never touches the watched inbox.
/// </summary>
public sealed class CorrectionScanner
{
    private const int FetchChunk = 200;
    private readonly ImapMailboxOptions _mailbox;
    private readonly SmartMailOptions _options;
    private readonly IStateStore _store;
    private readonly ExampleStore _examples;
    private readonly Func<IReadOnlyList<string>> _knownLabels;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DepartmentFolders _folders;
    private readonly MailExtractor _extractor = new();
    private bool _scannedBefore;

    /// <summary>Creates the scanner.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="options">The worker's options.</param>
    /// <param name="store">The ledger and audit trail.</param>
    /// <param name="examples">Where corrections and examples are kept.</param>
    /// <param name="knownLabels">The labels of the model in force.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public CorrectionScanner(ImapMailboxOptions mailbox, SmartMailOptions options, IStateStore store, ExampleStore examples,
        Func<IReadOnlyList<string>> knownLabels, TimeProvider time, ILogger logger)
    {
        _mailbox = mailbox;
        _options = options;
        _store = store;
        _examples = examples;
        _knownLabels = knownLabels;
        _time = time;
        _logger = logger;
        _folders = new DepartmentFolders(options, mailbox);
    }

    /// <summary>Connects, looks at every department folder once, disconnects.</summary>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>What was found.</returns>
    public async Task<CorrectionScan> ScanAsync(CancellationToken cancellationToken)
    {
        using var client = ImapMailbox.NewClient(_mailbox);
        await ImapMailbox.ConnectClientAsync(client, _mailbox, cancellationToken).ConfigureAwait(false);
        var result = await ScanAsync(client, cancellationToken).ConfigureAwait(false);
        await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Looks at the messages that arrived in each department folder since the last scan. A folder seen for the first time
    /// in the first scan of this process starts at its current end (its history predates SmartMail; <c>smartmail train
    /// --imap</c> reads history); a folder that appears later (a new department) is read from its start.
    /// </summary>
    /// <param name="client">A connected client.</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>What was found.</returns>
    public async Task<CorrectionScan> ScanAsync(ImapClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var result = new CorrectionScan();
        foreach (var folder in await _folders.ListAsync(client, cancellationToken).ConfigureAwait(false))
        {
            await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
            var cursor = _examples.GetCursor(_mailbox.Name, folder.FullName);
            var end = (long)(folder.UidNext?.Id ?? 1) - 1;
            long start;
            if (cursor is { } c && c.UidValidity == folder.UidValidity)
            {
                start = c.LastUid;
            }
            else
            {
                if (cursor is not null)
                {
                    LearningLog.FolderReset(_logger, _mailbox.Name, folder.FullName);
                }
                start = _scannedBefore && cursor is null ? 0 : end;
            }
            var last = start;
            if (end > start || folder.UidNext is null)
            {
                var uids = await folder.SearchAsync(SearchQuery.Uids(new UniqueIdRange(new UniqueId((uint)start + 1), UniqueId.MaxValue)),
                    cancellationToken).ConfigureAwait(false);
                foreach (var chunk in await ByBytesAsync(folder, [.. uids.Where(u => u.Id > start)], cancellationToken).ConfigureAwait(false))
                {
                    List<UniqueId> wanted = [.. chunk.Where(u => u.Fetch).Select(u => u.Uid)];
                    var bodies = wanted.Count == 0 ? new Dictionary<uint, byte[]>() : await ImapMailbox.FetchBodiesAsync(folder, wanted, cancellationToken).ConfigureAwait(false);
                    foreach (var (uid, _) in chunk)
                    {
                        if (bodies.TryGetValue(uid.Id, out var raw))
                        {
                            result.Looked++;
                            Examine(folder, raw, result);
                        }
                        last = Math.Max(last, uid.Id);
                    }
                    // Progress is kept per chunk: a scan cut short resumes where it stopped.
                    _examples.SetCursor(_mailbox.Name, folder.FullName, folder.UidValidity, last);
                }
            }
            _examples.SetCursor(_mailbox.Name, folder.FullName, folder.UidValidity, Math.Max(last, end));
            await folder.CloseAsync(false, cancellationToken).ConfigureAwait(false);
        }
        _scannedBefore = true;
        return result;
    }

    // Chunks of at most FetchChunk mails and BatchMegabytes by the listed sizes (issue 24, finding 4: the scanner fetched 200
    // whole mails at once); mail over MaxMessageMegabytes is not fetched (it never becomes an example), only stepped over.
    private async Task<IReadOnlyList<(UniqueId Uid, bool Fetch)[]>> ByBytesAsync(IMailFolder folder, IList<UniqueId> uids, CancellationToken cancellationToken)
    {
        var result = new List<(UniqueId Uid, bool Fetch)[]>();
        var budget = _mailbox.BatchMegabytes * 1024L * 1024L;
        var limit = _options.MaxMessageMegabytes * 1024L * 1024L;
        foreach (var chunk in uids.Chunk(FetchChunk))
        {
            var sizes = (await folder.FetchAsync(chunk, MessageSummaryItems.UniqueId | MessageSummaryItems.Size, cancellationToken).ConfigureAwait(false))
                .ToDictionary(s => s.UniqueId.Id, s => (long)(s.Size ?? 0));
            var current = new List<(UniqueId, bool)>();
            long bytes = 0;
            foreach (var uid in chunk)
            {
                var size = sizes.GetValueOrDefault(uid.Id);
                var fetch = size <= limit;
                if (fetch && current.Count > 0 && bytes + size > budget)
                {
                    result.Add([.. current]);
                    (current, bytes) = ([], 0);
                }
                current.Add((uid, fetch));
                bytes += fetch ? size : 0;
            }
            if (current.Count > 0)
            {
                result.Add([.. current]);
            }
        }
        return result;
    }

    private void Examine(IMailFolder folder, byte[] raw, CorrectionScan result)
    {
        if (_options.FollowThreads)
        {
            // Any message here (a caseworker's answer filed in the folder, a mail moved here): a reply to it follows this folder.
            _store.Threads.SeenInFolder(_mailbox.Name, Threads.ThreadHeaders.MessageId(raw), _folders.LabelOf(folder.Name, _knownLabels()),
                folder.FullName, _time.GetUtcNow());
        }
        var fingerprint = MailExtractor.Fingerprint(raw);
        if (_store.FindDelivered(_mailbox.Name, fingerprint) is not { } record)
        {
            result.NotSmartMail++;
            return;
        }
        var (decidedLabel, modelVersion) = Decided(record.DecisionJson);
        var currentLabel = _examples.LabelOf(_mailbox.Name, fingerprint) ?? decidedLabel;
        var folderLabel = _folders.LabelOf(folder.Name, _knownLabels());
        var uncorrected = currentLabel == decidedLabel;
        if (currentLabel == folderLabel || (uncorrected && _folders.IsFolderOf(folder.Name, record.Destination)))
        {
            return;
        }
        var document = _extractor.Extract(raw);
        var correction = new Correction(_time.GetUtcNow(), _mailbox.Name, fingerprint, record.DecisionId, currentLabel, record.Destination, folderLabel,
            folder.FullName, "a caseworker (IMAP move; the server does not say who)", "imap", modelVersion);
        CorrectionRecorder.Record(_store, _examples, _options, correction,
            new NewExample(_mailbox.Name, fingerprint, record.DecisionId, folderLabel, modelVersion, new TextInput(document.Subject, document.Body), document.Date),
            $"moved by a caseworker from {(currentLabel is null ? record.Destination : $"'{currentLabel}'")} to folder {folder.FullName}", folder.FullName);
        LearningLog.CorrectionSeen(_logger, _mailbox.Name, fingerprint[..12], currentLabel ?? record.Destination ?? "?", folderLabel);
        result.Corrections++;
    }

    // The label and model version of the decision as recorded in the ledger.
    internal static (string? Label, string? ModelVersion) Decided(string? decisionJson)
    {
        if (decisionJson is null)
        {
            return (null, null);
        }
        using var json = JsonDocument.Parse(decisionJson);
        string? Get(string name) => json.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return (Get("label"), Get("modelVersion"));
    }
}

/// <summary>What one scan found.</summary>
public sealed class CorrectionScan
{
    /// <summary>New messages looked at.</summary>
    public int Looked { get; set; }

    /// <summary>Corrections recorded.</summary>
    public int Corrections { get; set; }

    /// <summary>Messages SmartMail never decided (filed by hand), left alone.</summary>
    public int NotSmartMail { get; set; }
}

internal static partial class LearningLog
{
    [LoggerMessage(EventId = SmartMailEventId.CorrectionSeen, Level = LogLevel.Information, Message = "Mailbox {Mailbox}: correction {Fingerprint}: '{From}' -> '{To}'")]
    public static partial void CorrectionSeen(ILogger logger, string mailbox, string fingerprint, string from, string to);

    [LoggerMessage(EventId = SmartMailEventId.CorrectionFolderReset, Level = LogLevel.Warning,
        Message = "Mailbox {Mailbox}: folder {Folder} has a new UIDVALIDITY; corrections are looked for from its current end")]
    public static partial void FolderReset(ILogger logger, string mailbox, string folder);

    [LoggerMessage(EventId = SmartMailEventId.CorrectionScanFailed, Level = LogLevel.Warning, Message = "Mailbox {Mailbox}: looking for corrections failed; trying again in {Delay}")]
    public static partial void ScanFailed(ILogger logger, string mailbox, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = SmartMailEventId.Retrained, Level = LogLevel.Information, Message = "Retrain {Decision}: {Reason} (report {Report})")]
    public static partial void Retrained(ILogger logger, string decision, string reason, string report);

    [LoggerMessage(EventId = SmartMailEventId.RetrainFailed, Level = LogLevel.Error, Message = "Scheduled retrain failed; the model in force is kept")]
    public static partial void RetrainFailed(ILogger logger, Exception exception);
}
