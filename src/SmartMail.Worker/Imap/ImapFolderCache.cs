using MailKit;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Imap;

/// <summary>
/// The destination folders of a session: a destination's folder name (one safe segment under the personal namespace), the
/// folder looked up or created once per session, and looking into a folder by keyword (which closes the watched folder on a
/// one-folder connection, so it is reopened after).
/// </summary>
internal sealed class ImapFolderCache(ImapSession session)
{
    private readonly Dictionary<string, IMailFolder> _folders = new(StringComparer.Ordinal);
    private char _separator = '.';

    /// <summary>Forgets the folders of the last connection; reads the server's hierarchy separator.</summary>
    public void Reset()
    {
        _folders.Clear();
        _separator = session.Client.PersonalNamespaces.Count > 0 ? session.Client.PersonalNamespaces[0].DirectorySeparator : '.';
    }

    /// <summary>A destination's folder name: "Manuel visitering" → "Manuel_visitering", "sci.space" → "sci_space" (Dovecot).</summary>
    public string FolderName(string destination) => FolderName(destination, _separator);

    /// <summary>A destination's folder name on a server whose hierarchy separator is <paramref name="separator"/> (also for <c>smartmail check</c>).</summary>
    public static string FolderName(string destination, char separator) => FolderJournalSink.SafeName(destination).Replace(separator, '_');

    /// <summary>The folder for a destination name (created when missing), directly under the personal namespace.</summary>
    public async Task<IMailFolder> GetOrCreateAsync(string destination, CancellationToken cancellationToken)
    {
        if (_folders.TryGetValue(destination, out var cached))
        {
            return cached;
        }
        var root = session.Client.GetFolder(session.Client.PersonalNamespaces[0]);
        var name = FolderName(destination);
        IMailFolder folder;
        try
        {
            folder = await root.GetSubfolderAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new FolderNotFoundException(name);
            if (!folder.Exists)
            {
                folder = await root.CreateAsync(name, true, cancellationToken).ConfigureAwait(false)
                    ?? throw new IOException($"Mailbox '{session.Options.Name}': folder '{name}' could not be created.");
            }
        }
        catch (FolderNotFoundException)
        {
            folder = await root.CreateAsync(name, true, cancellationToken).ConfigureAwait(false)
                    ?? throw new IOException($"Mailbox '{session.Options.Name}': folder '{name}' could not be created.");
        }
        _folders[destination] = folder;
        return folder;
    }

    /// <summary>The folder a destination is delivered to, if it exists (never created).</summary>
    public async Task<IMailFolder?> FindAsync(string destination, CancellationToken cancellationToken)
    {
        if (_folders.TryGetValue(destination, out var cached))
        {
            return cached;
        }
        try
        {
            var folder = await session.Client.GetFolder(session.Client.PersonalNamespaces[0]).GetSubfolderAsync(FolderName(destination), cancellationToken)
                .ConfigureAwait(false);
            return folder is { Exists: true } ? folder : null;
        }
        catch (FolderNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Whether a message in <paramref name="folder"/> carries <paramref name="keyword"/>.</summary>
    public Task<bool> HasKeywordAsync(IMailFolder folder, string keyword, CancellationToken cancellationToken) =>
        InFolderAsync(folder, async () =>
            (await folder.SearchAsync(MailKit.Search.SearchQuery.HasKeyword(keyword), cancellationToken).ConfigureAwait(false)).Count > 0,
            cancellationToken);

    /// <summary>The fingerprints of the messages in a folder that carry a keyword (a marker names one batch: a few hundred at most).</summary>
    public Task<HashSet<string>> FingerprintsWithKeywordAsync(IMailFolder folder, string keyword, CancellationToken cancellationToken) =>
        InFolderAsync(folder, async () =>
        {
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var uid in await folder.SearchAsync(MailKit.Search.SearchQuery.HasKeyword(keyword), cancellationToken).ConfigureAwait(false))
            {
                using var stream = await folder.GetStreamAsync(uid, cancellationToken).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                result.Add(Core.Mime.MailExtractor.Fingerprint(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
            }
            return result;
        }, cancellationToken);

    // One IMAP connection has one open folder: looking into a destination closes the watched folder, so reopen it.
    private async Task<T> InFolderAsync<T>(IMailFolder folder, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            await folder.CloseAsync(false, cancellationToken).ConfigureAwait(false);
            await session.Inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
        }
    }
}
