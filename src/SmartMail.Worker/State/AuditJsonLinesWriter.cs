using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartMail.Worker.State;

/// <summary>
/// Appends audit rows as JSON lines (one object per line) for shipping to a log system. The top alternatives are a JSON
/// array (<c>"top": [{"label": …, "score": …}]</c>), not a string of JSON. Thread-safe.
/// </summary>
internal sealed class AuditJsonLinesWriter(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _gate = new();

    /// <summary>The file.</summary>
    public string Path { get; } = path;

    public void Append(AuditEntry entry) => AppendAll([entry]);

    /// <summary>Appends several rows with one write.</summary>
    /// <exception cref="StateStoreException">The file cannot be written: the worker must stop taking mail.</exception>
    public void AppendAll(IEnumerable<AuditEntry> entries)
    {
        var lines = string.Concat(entries.Select(e => Line(e) + "\n"));
        lock (_gate)
        {
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
                File.AppendAllText(Path, lines);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The audit trail cannot record (disk full, read-only): stop taking mail, as for the ledger itself.
                throw new StateStoreException($"The audit file '{Path}' cannot be written: {ex.Message}", ex);
            }
        }
    }

    /// <summary>One row as a JSON object: the audit table's columns, with <c>top</c> as JSON rather than a string.</summary>
    /// <param name="entry">The row.</param>
    /// <returns>The line (without the newline).</returns>
    public static string Line(AuditEntry entry)
    {
        var node = JsonSerializer.SerializeToNode(entry, Json)!.AsObject(); // an object serialises to an object
        node.Remove("topJson");
        if (entry.TopJson is { } top)
        {
            node["top"] = JsonNode.Parse(top);
        }
        return node.ToJsonString(Json);
    }
}
