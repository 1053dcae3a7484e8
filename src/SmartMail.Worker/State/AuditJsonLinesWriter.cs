using System.Text.Json;

namespace SmartMail.Worker.State;

/// <summary>Appends audit rows as JSON lines (one object per line) for shipping to a log system. Thread-safe.</summary>
internal sealed class AuditJsonLinesWriter(string path)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Lock _gate = new();

    public void Append(AuditEntry entry)
    {
        var line = JsonSerializer.Serialize(entry, Json) + "\n";
        lock (_gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.AppendAllText(path, line);
        }
    }
}
