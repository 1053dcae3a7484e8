using System.Security.Cryptography;
using System.Text;

namespace SmartMail.Worker.Sinks;

/// <summary>
/// Drop folder for a case system: <c>ROOT/DESTINATION/DECISION-ID.eml</c> (the original, unchanged) and
/// <c>DECISION-ID.json</c> (the decision). Each file is written to a temporary name, flushed to disk (fsync) and
/// renamed, and the directory is flushed after each rename (see <see cref="DurableFile"/>), so a reader never sees half
/// a file, the files survive a power loss once <see cref="DeliverAsync"/> returns (the drop-folder source deletes the
/// original only then), and the .json appears last: a case system may take the pair when the .json exists.
/// Re-delivering the same decision id overwrites the same files (idempotent). Names are safe on Linux and Windows
/// (<see cref="SafeFileName"/>).
/// </summary>
public sealed class FolderJournalSink(string root) : IMailSink
{
    /// <summary>The longest file or directory name the sink makes from a destination or decision id, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 100;

    private static readonly HashSet<string> WindowsDeviceNames = new(
        ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", .. Enumerable.Range(0, 10).SelectMany(i => new[] { $"COM{i}", $"LPT{i}" })],
        StringComparer.OrdinalIgnoreCase);

    private readonly string _root = Path.GetFullPath(root);

    /// <summary>The journal root.</summary>
    public string Root => _root;

    /// <summary>Told each durability step (tests): ("fsync", file), ("rename", file), ("fsync-dir", directory).</summary>
    internal Action<string, string>? Steps { get; init; }

    /// <inheritdoc />
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var directory = Path.Combine(_root, SafeFileName(delivery.Destination));
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory);
            // The new directory's own entry must reach the disk too.
            DurableFile.SyncDirectory(Path.GetDirectoryName(directory)!);
            Steps?.Invoke("fsync-dir", Path.GetDirectoryName(directory)!);
        }
        var name = SafeFileName(delivery.DecisionId);
        await DurableFile.WriteAtomicAsync(Path.Combine(directory, name + ".eml"), delivery.Raw, Steps, cancellationToken).ConfigureAwait(false);
        await DurableFile.WriteAtomicAsync(Path.Combine(directory, name + ".json"), Encoding.UTF8.GetBytes(delivery.DecisionJson), Steps,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public string PlaceOf(string destination) => SafeName(destination);

    /// <inheritdoc />
    /// <remarks>The decision's .json is written last: when it exists, the pair was delivered.</remarks>
    public Task<bool?> IsDeliveredAsync(DeliveryCheck check, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(check);
        return Task.FromResult<bool?>(File.Exists(Path.Combine(_root, SafeName(check.Destination), SafeName(check.DecisionId) + ".json")));
    }

    /// <summary>A destination or id as a single safe path segment.</summary>
    /// <param name="value">The name.</param>
    /// <returns>Letters, digits, '.', '-' and '_' only; never empty, never "." or "..".</returns>
    public static string SafeName(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var chars = value.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray();
        var name = new string(chars).Trim('.');
        return name.Length == 0 ? "_" : name;
    }

    /// <summary>
    /// A destination or id as a file or directory name that is safe on Linux and Windows alike: <see cref="SafeName"/>
    /// (so no reserved characters <c>&lt;&gt;:"/\|?*</c>, no control characters, no leading or trailing dots or spaces),
    /// a '_' before a Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also with an extension such as
    /// <c>NUL.txt</c>), and at most <see cref="MaxNameBytes"/> UTF-8 bytes: a longer name is cut and ends in a hash of
    /// the whole value, so distinct long names stay distinct. Deterministic: the same value always gives the same name.
    /// </summary>
    /// <param name="value">The name.</param>
    /// <returns>The safe name.</returns>
    public static string SafeFileName(string value)
    {
        var name = SafeName(value);
        var stem = name.Split('.')[0];
        if (WindowsDeviceNames.Contains(stem))
        {
            name = "_" + name;
        }
        if (Encoding.UTF8.GetByteCount(name) <= MaxNameBytes)
        {
            return name;
        }
        var hash = "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..16];
        var keep = name.Length;
        while (Encoding.UTF8.GetByteCount(name.AsSpan(0, keep)) > MaxNameBytes - hash.Length)
        {
            keep--;
        }
        if (keep > 0 && char.IsHighSurrogate(name[keep - 1]))
        {
            keep--;
        }
        return name[..keep].TrimEnd('.') + hash;
    }
}
