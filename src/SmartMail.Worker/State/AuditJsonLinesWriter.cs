using System.Text.Json;

namespace SmartMail.Worker.State;

/// <summary>Appends audit rows as JSON lines (one object per line) for shipping to a log system. Thread-safe.</summary>
internal sealed class AuditJsonLinesWriter(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _gate = new();

    public void Append(AuditEntry entry) => AppendAll([entry]);

    /// <summary>Appends several rows with one write.</summary>
    /// <exception cref="StateStoreException">The file cannot be written: the worker must stop taking mail.</exception>
    public void AppendAll(IEnumerable<AuditEntry> entries)
    {
        var lines = string.Concat(entries.Select(e => JsonSerializer.Serialize(e, Json) + "\n"));
        lock (_gate)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.AppendAllText(path, lines);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The audit trail cannot record (disk full, read-only): stop taking mail, as for the ledger itself.
                throw new StateStoreException($"The audit file '{path}' cannot be written: {ex.Message}", ex);
            }
        }
    }
}
