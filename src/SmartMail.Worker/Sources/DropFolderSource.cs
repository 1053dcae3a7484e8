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
        // GetFiles, not EnumerateFiles: a snapshot, so a file renamed below is not met again under its new name.
        IReadOnlyList<PendingMail> pending = [.. new DirectoryInfo(_directory).GetFiles("*.eml")
            .Where(f => !f.Name.StartsWith('.'))
            .Select(WithoutCprInName)
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

    // A file name is the mail's key in the ledger: a name holding a CPR number (a scanner's "skema 010190-1234.eml") is
    // renamed, before anything is recorded, to one that says so without the number. The suffix that keeps such names apart
    // is random: a hash of the name could be reversed by trying every CPR number (a few hundred million).
    private FileInfo WithoutCprInName(FileInfo file)
    {
        if (!SmartMail.Core.Privacy.Cpr.ContainsAny(file.Name))
        {
            return file;
        }
        var suffix = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        var target = Path.Combine(_directory, $"{SmartMail.Core.Privacy.Cpr.Redact(Path.GetFileNameWithoutExtension(file.Name))
            .Replace(SmartMail.Core.Privacy.Cpr.Placeholder, "CPR", StringComparison.Ordinal)}-{suffix}.eml");
        file.MoveTo(target, overwrite: false);
        return new FileInfo(target);
    }

    // File names come from a directory listing of our own inbox; never let one escape it.
    private string PathOf(MailKey key) => Path.Combine(_directory, Path.GetFileName(key.Uid));
}
