using SmartMail.Worker.State;

namespace SmartMail.Worker.Sources;

/// <summary>
/// The embedded default source: <c>*.eml</c> files in an inbox directory. Writers should create files under
/// another name and rename them into place (as maildir does), so that a half-written file is never read.
/// Acknowledging deletes the file.
/// </summary>
public sealed class DropFolderSource : IMailSource
{
    private readonly string _directory;

    /// <summary>Creates the source.</summary>
    /// <param name="mailbox">The mailbox name.</param>
    /// <param name="directory">The inbox directory (created if missing).</param>
    public DropFolderSource(string mailbox, string directory)
    {
        Mailbox = mailbox;
        _directory = Path.GetFullPath(directory);
        Directory.CreateDirectory(_directory);
    }

    /// <inheritdoc />
    public string Mailbox { get; }

    /// <inheritdoc />
    public Task<IReadOnlyList<PendingMail>> ListAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<PendingMail> pending = [.. new DirectoryInfo(_directory).EnumerateFiles("*.eml")
            .Where(f => !f.Name.StartsWith('.'))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => new PendingMail(new MailKey(Mailbox, "inbox", 0, f.Name), f.Length))];
        return Task.FromResult(pending);
    }

    /// <inheritdoc />
    public async Task<byte[]?> FetchAsync(MailKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            return await File.ReadAllBytesAsync(PathOf(key), cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task AcknowledgeAsync(MailKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        File.Delete(PathOf(key));
        return Task.CompletedTask;
    }

    // File names come from a directory listing of our own inbox; never let one escape it.
    private string PathOf(MailKey key) => Path.Combine(_directory, Path.GetFileName(key.Uid));
}
