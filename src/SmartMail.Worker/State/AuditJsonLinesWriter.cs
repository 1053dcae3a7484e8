using System.Text.Json;

namespace SmartMail.Worker.State;

/// <summary>Appends audit rows as JSON lines (one object per line) for shipping to a log system. Thread-safe.</summary>
internal sealed class AuditJsonLinesWriter(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _gate = new();

    public void Append(AuditEntry entry) => AppendAll([entry]);

    /// <summary>Appends several rows with one write.</summary>
    public void AppendAll(IEnumerable<AuditEntry> entries)
    {
        var lines = string.Concat(entries.Select(e => JsonSerializer.Serialize(e, Json) + "\n"));
        lock (_gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.AppendAllText(path, lines);
        }
    }
}
