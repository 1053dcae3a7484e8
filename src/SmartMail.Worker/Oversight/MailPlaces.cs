using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Oversight;

/// <summary>
/// Where a mailbox's destinations lie: the mailbox's own IMAP folders, the journal (the drop-folder inbox's default, and
/// <c>Folder</c> routes), or away by SMTP or webhook (gone from SmartMail's reach once delivered).
/// </summary>
internal sealed class MailPlaces(SmartMailOptions options)
{
    /// <summary>The name the drop-folder inbox has as a mailbox (<see cref="Sources.DropFolderSource"/> as the host makes it).</summary>
    public const string DropMailbox = "drop";

    /// <summary>The mailboxes: the configured IMAP ones, else the drop folder.</summary>
    public IReadOnlyList<string> Mailboxes { get; } = options.Mailboxes.Count > 0 ? [.. options.Mailboxes.Select(m => m.Name)] : [DropMailbox];

    /// <summary>The options.</summary>
    public SmartMailOptions Options => options;

    /// <summary>The IMAP mailbox of that name, or <see langword="null"/> for the drop folder.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <returns>Its settings.</returns>
    public Imap.ImapMailboxOptions? Imap(string mailbox) => options.Mailboxes.FirstOrDefault(m => m.Name == mailbox);

    /// <summary>The destination a label routes to (as <see cref="Processing.MailProcessor"/> routes it).</summary>
    /// <param name="label">The label.</param>
    /// <returns>The destination.</returns>
    public string DestinationOf(string label) =>
        options.Routes.TryGetValue(label, out var route) ? route.Destination ?? label : label;

    /// <summary>The route kind of a destination: <c>Default</c>, <c>Folder</c>, <c>Smtp</c> or <c>Webhook</c>.</summary>
    /// <param name="destination">The destination.</param>
    /// <returns>The kind.</returns>
    public RouteKind KindOf(string destination) =>
        options.Routes.LastOrDefault(r => (r.Value.Destination ?? r.Key) == destination).Value?.Kind ?? RouteKind.Default; // as RoutingSink

    /// <summary>Whether mail of <paramref name="mailbox"/> sent to <paramref name="destination"/> lies in the journal.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="destination">The destination.</param>
    /// <returns><see langword="true"/> for the journal.</returns>
    public bool IsJournal(string mailbox, string destination) =>
        KindOf(destination) switch { RouteKind.Folder => true, RouteKind.Default => Imap(mailbox) is null, _ => false };

    /// <summary>Whether mail of <paramref name="mailbox"/> sent to <paramref name="destination"/> lies in one of the mailbox's IMAP folders.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="destination">The destination.</param>
    /// <returns><see langword="true"/> for an IMAP folder.</returns>
    public bool IsImapFolder(string mailbox, string destination) => KindOf(destination) == RouteKind.Default && Imap(mailbox) is not null;

    /// <summary>The journal file of a decision (<c>.eml</c> or <c>.json</c>), when the destination is in the journal.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="destination">The destination.</param>
    /// <param name="decisionId">The decision id.</param>
    /// <param name="extension"><c>.eml</c> or <c>.json</c>.</param>
    /// <returns>The path, or <see langword="null"/>.</returns>
    public string? JournalFile(string mailbox, string destination, string decisionId, string extension) =>
        IsJournal(mailbox, destination)
            ? Path.Combine(options.JournalPath, FolderJournalSink.SafeFileName(destination), FolderJournalSink.SafeFileName(decisionId) + extension)
            : null;

    /// <summary>The name the destination has where the mail lies (the journal directory, the folder), for people.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="destination">The destination.</param>
    /// <returns>The name.</returns>
    public string PlaceOf(string mailbox, string destination) =>
        IsJournal(mailbox, destination) ? Path.Combine(options.JournalPath, FolderJournalSink.SafeFileName(destination)) : destination;
}
