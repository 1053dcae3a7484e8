namespace SmartMail.Worker.Sinks;

/// <summary>
/// Drop folder for a case system: <c>ROOT/DESTINATION/DECISION-ID.eml</c> (the original, unchanged) and
/// <c>DECISION-ID.json</c> (the decision). Each file is written to a temporary name, flushed to disk and renamed,
/// so a reader never sees half a file, and the .json appears last: a case system may take the pair when the
/// .json exists. Re-delivering the same decision id overwrites the same files (idempotent).
/// </summary>
public sealed class FolderJournalSink(string root) : IJournalSink
{
    private readonly string _root = Path.GetFullPath(root);

    /// <summary>The journal root.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public async Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var directory = Path.Combine(_root, SafeName(delivery.Destination));
        Directory.CreateDirectory(directory);
        var name = SafeName(delivery.DecisionId);
        await WriteAtomicAsync(Path.Combine(directory, name + ".eml"), delivery.Raw, cancellationToken).ConfigureAwait(false);
        await WriteAtomicAsync(Path.Combine(directory, name + ".json"), System.Text.Encoding.UTF8.GetBytes(delivery.DecisionJson),
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

    private static async Task WriteAtomicAsync(string path, byte[] content, CancellationToken cancellationToken)
    {
        var temp = path + ".tmp";
        var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
