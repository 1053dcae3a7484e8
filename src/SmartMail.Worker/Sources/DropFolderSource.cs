using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
    private readonly ILogger _logger;
    private readonly HashSet<string> _linksReported = new(StringComparer.Ordinal);

    /// <summary>Creates the source.</summary>
    /// <param name="mailbox">The mailbox name.</param>
    /// <param name="directory">The inbox directory (created if missing).</param>
    /// <param name="logger">Told about files ignored (symbolic links); none when <see langword="null"/>.</param>
    public DropFolderSource(string mailbox, string directory, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
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
            .Where(f => !f.Name.StartsWith('.') && !IsLink(f))
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
            var path = PathOf(key);
            if (IsLink(new FileInfo(path)))
            {
                return null; // replaced by a link since it was listed: never read through it
            }
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    // A symbolic link (or any reparse point) in the inbox is never read: one pointing at state.db or web-keys would put their
    // bytes in the journal and the web preview. Said once per name in the log; the link itself is left alone.
    private bool IsLink(FileInfo file)
    {
        if (file.LinkTarget is null && !file.Attributes.HasFlag(FileAttributes.ReparsePoint))
        {
            return false;
        }
        if (_linksReported.Add(file.Name))
        {
            Log.SymlinkIgnored(_logger, Mailbox);
        }
        return true;
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
