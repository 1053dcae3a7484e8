using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Oversight;

/// <summary>
/// Moves one mail between two folders of an IMAP mailbox for the web app, on a connection of its own: the mail is found
/// by its claim marker (set before the worker moved it, and kept by the server with the message), and moved with one UID
/// MOVE. The move is atomic on the server, so of two tries (a double click on two instances, a retry after a crash) one
/// moves the mail and the other finds it gone from the source and in the destination. Without MOVE (COPY + EXPUNGE) two
/// concurrent tries could both copy: the mover refuses such a server.
/// </summary>
internal sealed class ImapActionMover(ImapMailboxOptions options)
{
    /// <summary>Moves the mail carrying <paramref name="marker"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <param name="decisionId">The decision id (for the messages).</param>
    /// <param name="marker">The mail's claim marker keyword.</param>
    /// <param name="from">The destination the mail was delivered to.</param>
    /// <param name="to">The destination it goes to.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ActionRefusedException">The mail is in neither folder, or the server has no MOVE.</exception>
    public async Task MoveAsync(string decisionId, string marker, string from, string to, CancellationToken cancellationToken)
    {
        using var client = ImapConnection.NewClient(options);
        await ImapConnection.ConnectAsync(client, options, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!client.Capabilities.HasFlag(ImapCapabilities.Move))
            {
                throw new ActionRefusedException($"Mailbox '{options.Name}' has no IMAP MOVE: the web app cannot move its mail exactly once; move it in the mailbox.");
            }
            var separator = client.PersonalNamespaces.Count > 0 ? client.PersonalNamespaces[0].DirectorySeparator : '.';
            var root = client.GetFolder(client.PersonalNamespaces[0]);
            var source = await FindAsync(root, Name(from, separator), cancellationToken).ConfigureAwait(false);
            var target = await FindAsync(root, Name(to, separator), cancellationToken).ConfigureAwait(false)
                ?? await root.CreateAsync(Name(to, separator), true, cancellationToken).ConfigureAwait(false)
                ?? throw new IOException($"Mailbox '{options.Name}': the folder for '{to}' could not be created.");
            if (source is not null)
            {
                await source.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
                var uids = await source.SearchAsync(SearchQuery.HasKeyword(marker), cancellationToken).ConfigureAwait(false);
                if (uids.Count > 0)
                {
                    try
                    {
                        await source.MoveToAsync(uids, target, cancellationToken).ConfigureAwait(false);
                    }
                    catch (ImapCommandException ex) when (ex.Response == ImapCommandResponse.No)
                    {
                        // Another session moved or expunged it meanwhile: the destination says which.
                    }
                }
                await source.CloseAsync(false, cancellationToken).ConfigureAwait(false);
            }
            await target.OpenAsync(FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
            var there = (await target.SearchAsync(SearchQuery.HasKeyword(marker), cancellationToken).ConfigureAwait(false)).Count > 0;
            await target.CloseAsync(false, cancellationToken).ConfigureAwait(false);
            if (!there)
            {
                throw new ActionRefusedException($"Mail {decisionId} is no longer in folder '{Name(from, separator)}' of {options.Name} (moved or deleted in the mailbox).");
            }
        }
        finally
        {
            if (client.IsConnected)
            {
                await client.DisconnectAsync(true, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    // As the worker's folder sink names them (ImapFolderCache.FolderName): directly under the personal namespace.
    private static string Name(string destination, char separator) => FolderJournalSink.SafeName(destination).Replace(separator, '_');

    private static async Task<IMailFolder?> FindAsync(IMailFolder root, string name, CancellationToken cancellationToken)
    {
        try
        {
            var folder = await root.GetSubfolderAsync(name, cancellationToken).ConfigureAwait(false);
            return folder is { Exists: true } ? folder : null;
        }
        catch (FolderNotFoundException)
        {
            return null;
        }
    }
}
