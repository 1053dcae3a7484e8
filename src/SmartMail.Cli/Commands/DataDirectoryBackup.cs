using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using SmartMail.Worker.State;

namespace SmartMail.Cli.Commands;

/// <summary>
/// A consistent online backup of a data directory, and its restore into an empty one. The audit file is copied first
/// (complete lines only), then every SQLite database through SQLite's online backup API (one snapshot, while the worker
/// goes on writing), then the rest (models and their registry, web keys); the audit file's copy is then completed from the
/// snapshot's audit table, so it holds every row the ledger does. A manifest records each file's size and SHA-256 and the
/// program's version; restore checks them all before it writes anything.
/// </summary>
internal static class DataDirectoryBackup
{
    /// <summary>The manifest's file name in a backup.</summary>
    public const string ManifestFile = "backup-manifest.json";

    /// <summary>The manifest's format.</summary>
    public const string Format = "smartmail-backup/1";

    private const string AuditFile = "audit.jsonl";
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly byte[] SqliteHeader = "SQLite format 3\0"u8.ToArray();
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The version of this program, as recorded in a manifest.</summary>
    public static string AppVersion { get; } =
        typeof(DataDirectoryBackup).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Backs up <paramref name="dataDirectory"/> into <paramref name="output"/> (new or empty).</summary>
    /// <param name="dataDirectory">The data directory (in use or not).</param>
    /// <param name="output">Where the backup goes.</param>
    /// <param name="skip">Directories under the data directory that hold mail rather than state (the default inbox and journal).</param>
    /// <returns>The manifest written.</returns>
    /// <exception cref="IOException">The data directory is missing, the output is not empty, or a file cannot be read or written.</exception>
    public static BackupManifest Backup(string dataDirectory, string output, IReadOnlyCollection<string> skip)
    {
        var source = Path.GetFullPath(dataDirectory);
        var target = Path.GetFullPath(output);
        if (!Directory.Exists(source))
        {
            throw new IOException($"SmartMail:DataDirectory: '{source}' does not exist: there is nothing to back up.");
        }
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new IOException($"--out: '{target}' is not empty: a backup goes into a new or empty directory and never overwrites another.");
        }
        if (IsUnder(target, source))
        {
            throw new IOException($"--out: '{target}' is inside the data directory '{source}': put the backup elsewhere.");
        }
        CreatePrivateDirectory(target);
        var skipped = skip.Select(Path.GetFullPath).ToList();
        var files = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
            .Where(f => !skipped.Any(s => IsUnder(f, s)))
            .Select(f => Path.GetRelativePath(source, f))
            .Where(f => !IsTransient(f))
            .Order(StringComparer.Ordinal)
            .ToList();

        // 1. The audit file first, complete lines only: every line in it is for a row the ledger committed before.
        var audit = files.Contains(AuditFile) ? CopyCompleteLines(Path.Combine(source, AuditFile), Path.Combine(target, AuditFile)) : -1;
        // 2. The databases: one consistent snapshot each, taken by SQLite while the worker writes on.
        var databases = files.Where(f => IsSqlite(Path.Combine(source, f))).ToList();
        foreach (var db in databases)
        {
            SnapshotDatabase(Path.Combine(source, db), Path.Combine(target, db));
        }
        // 3. The rest as it is now: models, the registry, web keys, anything else kept there.
        foreach (var file in files.Where(f => f != AuditFile && !databases.Contains(f)))
        {
            CopyFile(Path.Combine(source, file), Path.Combine(target, file));
        }
        // 4. The audit file's copy gets the rows the ledger snapshot holds beyond it (written during steps 1-2).
        var appended = audit >= 0 && databases.Contains("state.db") ? CompleteAudit(Path.Combine(target, "state.db"), Path.Combine(target, AuditFile)) : 0;
        var ledgerRows = -1L;
        foreach (var db in databases)
        {
            var rows = Seal(Path.Combine(target, db));
            ledgerRows = db == "state.db" ? rows : ledgerRows;
        }

        var manifest = new BackupManifest
        {
            Format = Format,
            AppVersion = AppVersion,
            CreatedUtc = DateTimeOffset.UtcNow,
            DataDirectory = source,
            AuditRows = ledgerRows,
            AuditLinesCompleted = appended,
            Files = [.. Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(target, f))
                .Where(f => f != ManifestFile).Order(StringComparer.Ordinal).Select(f => Entry(target, f))],
        };
        var manifestPath = Path.Combine(target, ManifestFile);
        File.WriteAllText(manifestPath, JsonSerializer.Serialize(manifest, Json));
        Private(manifestPath);
        return manifest;
    }

    /// <summary>Restores the backup in <paramref name="backup"/> into <paramref name="dataDirectory"/>, which must be missing or empty.</summary>
    /// <param name="backup">The backup's directory.</param>
    /// <param name="dataDirectory">The data directory to fill.</param>
    /// <returns>The backup's manifest.</returns>
    /// <exception cref="IOException">The data directory is not empty, or the backup is incomplete or damaged (nothing is written then).</exception>
    public static BackupManifest Restore(string backup, string dataDirectory)
    {
        var from = Path.GetFullPath(backup);
        var target = Path.GetFullPath(dataDirectory).TrimEnd(Path.DirectorySeparatorChar);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new IOException($"SmartMail:DataDirectory: '{target}' is not empty: restore goes into an empty data directory only "
                + "(stop the service, move that directory aside, then restore; or point SmartMail:DataDirectory at a new one).");
        }
        var manifest = ReadManifest(from);
        Verify(from, manifest, "the backup");

        // Copied into a staging folder and moved into place at the end: an interrupted restore leaves no half data directory.
        // Inside an existing (empty) target, so that its owner needs no right on the parent (the service user, /var/lib).
        var existed = Directory.Exists(target);
        var suffix = $"restoring-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var staging = existed ? Path.Combine(target, "." + suffix) : $"{target}.{suffix}";
        CreatePrivateDirectory(staging);
        try
        {
            foreach (var file in manifest.Files)
            {
                CopyFile(Path.Combine(from, file.Path), Path.Combine(staging, file.Path));
            }
            Verify(staging, manifest, "the restored copy");
            if (!existed)
            {
                Directory.Move(staging, target);
                return manifest;
            }
            foreach (var entry in new DirectoryInfo(staging).EnumerateFileSystemInfos())
            {
                var destination = Path.Combine(target, entry.Name);
                if (entry is DirectoryInfo directory)
                {
                    directory.MoveTo(destination);
                }
                else
                {
                    ((FileInfo)entry).MoveTo(destination);
                }
            }
            Directory.Delete(staging);
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
            throw;
        }
        return manifest;
    }

    private static BackupManifest ReadManifest(string from)
    {
        var path = Path.Combine(from, ManifestFile);
        if (!File.Exists(path))
        {
            throw new IOException($"--from: '{from}' holds no {ManifestFile}: it is not a SmartMail backup (made by 'smartmail backup --out').");
        }
        BackupManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BackupManifest>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new IOException($"--from: '{path}' is damaged ({ex.Message}): nothing restored.", ex);
        }
        if (manifest is null || manifest.Format != Format)
        {
            throw new IOException($"--from: '{path}' is not a {Format} manifest (format '{manifest?.Format}'): nothing restored.");
        }
        if (manifest.Files.Any(f => Path.IsPathRooted(f.Path) || f.Path.Split('/', '\\').Contains("..")))
        {
            throw new IOException($"--from: '{path}' names a file outside the backup: nothing restored.");
        }
        return manifest;
    }

    private static void Verify(string root, BackupManifest manifest, string what)
    {
        foreach (var file in manifest.Files)
        {
            var path = Path.Combine(root, file.Path);
            if (!File.Exists(path))
            {
                throw new IOException($"{what} lacks '{file.Path}', which {ManifestFile} lists: nothing restored.");
            }
            var (bytes, sha256) = Hash(path);
            if (bytes != file.Bytes || sha256 != file.Sha256)
            {
                throw new IOException($"{what}: '{file.Path}' is damaged (its SHA-256 differs from {ManifestFile}): nothing restored; use another backup.");
            }
        }
    }

    // The online backup API copies every page of one consistent read snapshot (in WAL mode the writer goes on meanwhile).
    private static void SnapshotDatabase(string source, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var from = Open(source, SqliteOpenMode.ReadWrite);
        using var to = Open(target, SqliteOpenMode.ReadWriteCreate);
        using (var busy = from.CreateCommand())
        {
            busy.CommandText = "PRAGMA busy_timeout=10000;";
            busy.ExecuteNonQuery();
        }
        from.BackupDatabase(to);
        Private(target);
    }

    // Checks a snapshot, leaves it one self-contained file (no write-ahead log beside it) and counts its audit rows (-1: no audit table).
    private static long Seal(string database)
    {
        using var connection = Open(database, SqliteOpenMode.ReadWrite);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        if (command.ExecuteScalar() is not "ok")
        {
            throw new IOException($"The snapshot of '{Path.GetFileName(database)}' fails SQLite's integrity check: the database itself may be damaged.");
        }
        command.CommandText = "PRAGMA journal_mode=DELETE;";
        command.ExecuteNonQuery();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='audit'";
        if ((long)command.ExecuteScalar()! == 0)
        {
            return -1;
        }
        command.CommandText = "SELECT count(*) FROM audit";
        return (long)command.ExecuteScalar()!;
    }

    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    // Up to the last newline: a line being appended at this moment is left to the completion from the ledger snapshot.
    private static long CopyCompleteLines(string source, string target)
    {
        byte[] bytes;
        using (var stream = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            bytes = buffer.ToArray();
        }
        var end = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        File.WriteAllBytes(target, bytes.AsSpan(0, end).ToArray());
        Private(target);
        return end;
    }

    // The audit table's rows after the one the copied file ends with, as the worker writes them; none when the two cannot be lined up.
    private static int CompleteAudit(string database, string auditFile)
    {
        List<AuditEntry> rows;
        using (var store = new SqliteStateStore(database))
        {
            rows = [.. store.ReadAudit()];
        }
        var lines = rows.Select(AuditJsonLinesWriter.Line).ToList();
        var last = File.ReadLines(auditFile).LastOrDefault();
        var from = last is null ? 0 : lines.LastIndexOf(last) + 1;
        if (from == 0 && last is not null)
        {
            return 0; // the file's last line is not among the ledger's rows (written by another version, or the mirror was off): left as it was
        }
        var missing = lines.Skip(from).ToList();
        if (missing.Count > 0)
        {
            File.AppendAllText(auditFile, string.Concat(missing.Select(l => l + "\n")));
        }
        return missing.Count;
    }

    private static void CopyFile(string source, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            File.Copy(source, target, overwrite: false);
        }
        catch (FileNotFoundException)
        {
            return; // removed since the listing (a temporary file of a model promotion): not part of the state
        }
        Private(target);
    }

    private static BackupFile Entry(string root, string relative)
    {
        var (bytes, sha256) = Hash(Path.Combine(root, relative));
        return new BackupFile { Path = relative.Replace('\\', '/'), Bytes = bytes, Sha256 = sha256 };
    }

    private static (long Bytes, string Sha256) Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return (stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    private static bool IsSqlite(string path)
    {
        Span<byte> header = stackalloc byte[16];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return stream.ReadAtLeast(header, 16, throwOnEndOfStream: false) == 16 && header.SequenceEqual(SqliteHeader);
        }
        catch (FileNotFoundException)
        {
            return false; // removed since the listing: CopyFile skips it too
        }
    }

    // The lock file and SQLite's side files (the backup API reads through them) are not state of their own.
    private static bool IsTransient(string relative) =>
        relative == DataDirectoryLockFile || relative.EndsWith("-wal", StringComparison.Ordinal) || relative.EndsWith("-shm", StringComparison.Ordinal)
        || relative.EndsWith("-journal", StringComparison.Ordinal) || Path.GetFileName(relative).StartsWith(".smartmail-check-", StringComparison.Ordinal);

    private const string DataDirectoryLockFile = "smartmail.lock";

    private static bool IsUnder(string path, string directory)
    {
        var relative = Path.GetRelativePath(directory, path);
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, PrivateDirectory);
        }
    }

    private static void Private(string file)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, PrivateFile);
        }
    }
}

/// <summary>The manifest of a backup (<c>backup-manifest.json</c>).</summary>
internal sealed class BackupManifest
{
    /// <summary><c>smartmail-backup/1</c>.</summary>
    public string Format { get; set; } = "";

    /// <summary>The version of the program that made it.</summary>
    public string AppVersion { get; set; } = "";

    /// <summary>When it was made.</summary>
    public DateTimeOffset CreatedUtc { get; set; }

    /// <summary>The data directory it was made from.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>The audit rows in the ledger snapshot; -1 without a ledger.</summary>
    public long AuditRows { get; set; }

    /// <summary>The lines the audit file's copy was completed with from the ledger snapshot.</summary>
    public int AuditLinesCompleted { get; set; }

    /// <summary>Every file with its size and SHA-256 (lower-case hex).</summary>
    public List<BackupFile> Files { get; set; } = [];
}

/// <summary>One file of a backup.</summary>
internal sealed class BackupFile
{
    /// <summary>The path under the backup, with '/'.</summary>
    public string Path { get; set; } = "";

    /// <summary>Its size.</summary>
    public long Bytes { get; set; }

    /// <summary>Its SHA-256, lower-case hex.</summary>
    public string Sha256 { get; set; } = "";
}
