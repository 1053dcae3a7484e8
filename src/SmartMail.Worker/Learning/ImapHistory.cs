using MailKit;
using MailKit.Net.Imap;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Learning;

/// <summary>
/// Builds a training set from the history of a mailbox's department folders (folder = label): the existing practice
/// of a municipality, for a first model. Reads read-only; never changes a flag.
/// </summary>
public static class ImapHistory
{
    /// <summary>Reads the department folders of a mailbox.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="options">The worker's options (routes and folder names).</param>
    /// <param name="folders">The folders to read; all department folders when empty.</param>
    /// <param name="knownLabels">Labels whose folder names map back to them (e.g. the current model's).</param>
    /// <param name="maxPerFolder">The newest this many messages per folder are read.</param>
    /// <param name="progress">Receives (folder, done, total) as messages are read.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The training set (kind <c>imap</c>).</returns>
    public static async Task<TrainingSet> ReadAsync(ImapMailboxOptions mailbox, SmartMailOptions options, IReadOnlyCollection<string> folders,
        IReadOnlyList<string> knownLabels, int maxPerFolder, IProgress<(string Folder, int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(folders);
        var departments = new DepartmentFolders(options, mailbox);
        using var client = ImapMailbox.NewClient(mailbox);
        await ImapMailbox.ConnectClientAsync(client, mailbox, cancellationToken).ConfigureAwait(false);
        var listed = await departments.ListAsync(client, cancellationToken).ConfigureAwait(false);
        var chosen = folders.Count == 0 ? listed : [.. listed.Where(f => folders.Contains(f.Name) || folders.Contains(f.FullName))];
        var missing = folders.Where(name => !chosen.Any(f => f.Name == name || f.FullName == name)).ToList();
        if (missing.Count > 0)
        {
            throw new TrainingDataException($"Mailbox '{mailbox.Name}' has no department folder '{missing[0]}' " +
                $"(found: {string.Join(", ", listed.Select(f => f.FullName))}).");
        }
        var extractor = new MailExtractor();
        var documents = new List<TrainingDocument>();
        var skipped = 0;
        foreach (var folder in chosen)
        {
            var label = departments.LabelOf(folder.Name, knownLabels);
            await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
            var uids = await folder.SearchAsync(MailKit.Search.SearchQuery.All, cancellationToken).ConfigureAwait(false);
            var newest = uids.Skip(Math.Max(0, uids.Count - maxPerFolder)).ToList();
            var done = 0;
            foreach (var chunk in newest.Chunk(200))
            {
                var bodies = await ImapMailbox.FetchBodiesAsync(folder, chunk, cancellationToken).ConfigureAwait(false);
                skipped += chunk.Length - bodies.Count;
                foreach (var raw in bodies.Values)
                {
                    var doc = extractor.Extract(raw);
                    if (doc.IsUnparseable)
                    {
                        skipped++;
                        continue;
                    }
                    documents.Add(new TrainingDocument(label, new TextInput(doc.Subject, doc.Body), doc.Fingerprint, doc.Date));
                }
                done += chunk.Length;
                progress?.Report((folder.FullName, done, newest.Count));
            }
            await folder.CloseAsync(false, cancellationToken).ConfigureAwait(false);
        }
        await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        return TrainingSet.FromDocuments("imap", mailbox.Name, documents, skipped);
    }
}
