using MailKit;
using MailKit.Net.Imap;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Learning;

/// <summary>
/// The department folders of a mailbox and the label each stands for: the folders SmartMail routes into (one per
/// label, named after its destination) and any folder a caseworker adds beside them. The label of a folder is the
/// label whose route names it, else the folder's own name.
/// </summary>
public sealed class DepartmentFolders
{
    private static readonly FolderAttributes SpecialUse = FolderAttributes.All | FolderAttributes.Archive | FolderAttributes.Drafts
        | FolderAttributes.Flagged | FolderAttributes.Junk | FolderAttributes.Sent | FolderAttributes.Trash | FolderAttributes.NoSelect
        | FolderAttributes.NonExistent;

    // Exchange Online marks no folder as special-use (no SPECIAL-USE, no \Trash or \Junk in LIST): its standard folders are
    // known by name instead, in English and in Danish (a mailbox's folder names follow its language). A deleted mail or one
    // reported as junk lands there; that is not a route to learn from.
    private static readonly HashSet<string> StandardFolderNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "Deleted Items", "Junk Email", "Sent Items", "Drafts", "Outbox", "Archive", "Conversation History", "Sync Issues",
        "RSS Feeds", "Trash", "Junk", "Spam", "Sent",
        "Slettet post", "Uønsket mail", "Uønsket e-mail", "Sendt post", "Kladder", "Udbakke", "Arkiv", "Samtaleoversigt",
    };

    private readonly SmartMailOptions _options;
    private readonly ImapMailboxOptions _mailbox;
    private readonly HashSet<string> _explicit;
    private Dictionary<string, string> _labelByFolder = new(StringComparer.Ordinal);
    private HashSet<string> _excluded = [];
    private char _separator = '/';

    /// <summary>Creates the mapping for one mailbox.</summary>
    /// <param name="options">The worker's options (routes, triage and quarantine names, learning settings).</param>
    /// <param name="mailbox">The mailbox.</param>
    public DepartmentFolders(SmartMailOptions options, ImapMailboxOptions mailbox)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mailbox);
        _options = options;
        _mailbox = mailbox;
        _explicit = new(options.Learning.CorrectionFolders, StringComparer.Ordinal);
        UseSeparator('/');
    }

    /// <summary>The folder name a destination is delivered to (as <see cref="ImapMailbox.FolderAsync"/> names it).</summary>
    /// <param name="destination">The destination.</param>
    /// <returns>The folder name under the personal namespace.</returns>
    public string FolderName(string destination) => FolderJournalSink.SafeName(destination).Replace(_separator, '_');

    private void UseSeparator(char separator)
    {
        _separator = separator;
        _labelByFolder = new(StringComparer.Ordinal);
        foreach (var (label, route) in _options.Routes.Where(r => r.Value.Kind == RouteKind.Default))
        {
            _labelByFolder.TryAdd(FolderName(route.Destination ?? label), label);
        }
        _excluded = new(StringComparer.OrdinalIgnoreCase)
        {
            "INBOX", _mailbox.Folder, _mailbox.ProcessedFolder, _mailbox.LeaseFolder,
            FolderName(_options.ManualTriageDestination), FolderName(_options.QuarantineDestination),
        };
    }

    /// <summary>The label a folder stands for: the label routed to it, else a known label it is named after, else its name.</summary>
    /// <param name="folderName">The folder's name.</param>
    /// <param name="knownLabels">The labels of the model in force (a label without a route has a folder named after it).</param>
    /// <returns>The label.</returns>
    public string LabelOf(string folderName, IEnumerable<string> knownLabels)
    {
        ArgumentNullException.ThrowIfNull(knownLabels);
        return _labelByFolder.TryGetValue(folderName, out var routed) ? routed
            : knownLabels.FirstOrDefault(l => !_options.Routes.ContainsKey(l) && FolderName(l) == folderName) ?? folderName;
    }

    /// <summary>Whether mail found in <paramref name="folderName"/> is where <paramref name="destination"/> put it.</summary>
    /// <param name="folderName">The folder's name.</param>
    /// <param name="destination">A destination recorded in the ledger.</param>
    /// <returns><see langword="true"/> for the same folder.</returns>
    public bool IsFolderOf(string folderName, string? destination) =>
        destination is not null && string.Equals(FolderName(destination), folderName, StringComparison.Ordinal);

    /// <summary>The department folders on the server now (top level of the personal namespace).</summary>
    /// <param name="client">A connected client.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The folders.</returns>
    public async Task<IReadOnlyList<IMailFolder>> ListAsync(ImapClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        if (root.DirectorySeparator != _separator && root.DirectorySeparator != '\0')
        {
            UseSeparator(root.DirectorySeparator);
        }
        var all = await root.GetSubfoldersAsync(false, cancellationToken).ConfigureAwait(false);
        var marksSpecialUse = (client.Capabilities & (ImapCapabilities.SpecialUse | ImapCapabilities.XList)) != 0;
        return [.. all.Where(f => _explicit.Count > 0
            ? _explicit.Contains(f.Name) || _explicit.Contains(f.FullName)
            : !_excluded.Contains(f.Name) && !_excluded.Contains(f.FullName) && (f.Attributes & SpecialUse) == 0
                && (marksSpecialUse || !StandardFolderNames.Contains(f.Name)))
            .OrderBy(f => f.FullName, StringComparer.Ordinal)];
    }
}
