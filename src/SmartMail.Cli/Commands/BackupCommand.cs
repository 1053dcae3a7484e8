using System.CommandLine;
using System.Globalization;
using SmartMail.Worker.Options;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail backup --out DIR</c> and <c>smartmail restore --from DIR</c>: a consistent online backup of the data
/// directory (<see cref="DataDirectoryBackup"/>), taken while the worker runs, and its restore into an empty data directory.
/// </summary>
internal static class BackupCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("backup", $"""
            Backs up the data directory while the worker runs: the ledger (state.db, by SQLite's online backup), the audit
            trail (audit.jsonl, completed from the same snapshot), the models and their registry, the web app's keys and
            the rest, with a manifest of SHA-256 checksums and this program's version. The drop-folder inbox and journal
            (mail, not state) are left out. With PostgreSQL as the store, run pg_dump as well (docs/operations.md).
            {CliOptions.SettingsNote}
            """);
        var output = new Option<DirectoryInfo>("--out") { Description = "A new or empty directory for the backup.", Required = true };
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            var options = Options(settings);
            var skip = new[] { options.Inbox is null ? options.InboxPath : null, options.Journal is null ? options.JournalPath : null }.OfType<string>().ToList();
            var manifest = DataDirectoryBackup.Backup(options.DataDirectory, parse.GetValue(output)!.FullName, skip);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Backed up {Path.GetFullPath(options.DataDirectory)} to {parse.GetValue(output)!.FullName}: {manifest.Files.Count} files, {manifest.Files.Sum(f => f.Bytes) / 1024.0:F0} KiB, {Rows(manifest)}; checksums in {DataDirectoryBackup.ManifestFile}."));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreateRestore(string[] settings)
    {
        var command = new Command("restore", $"""
            Restores a backup made by 'smartmail backup' into the data directory, which must be missing or empty (stop the
            service and move the old one aside first). Every file's checksum is verified before anything is written, and
            again after the copy; a damaged or incomplete backup restores nothing.
            {CliOptions.SettingsNote}
            """);
        var from = new Option<DirectoryInfo>("--from") { Description = "The backup's directory.", Required = true };
        command.Options.Add(from);
        command.SetAction(parse =>
        {
            var options = Options(settings);
            var manifest = DataDirectoryBackup.Restore(parse.GetValue(from)!.FullName, options.DataDirectory);
            var version = manifest.AppVersion == DataDirectoryBackup.AppVersion ? "" : $" (made by SmartMail {manifest.AppVersion}, this is {DataDirectoryBackup.AppVersion})";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Restored {manifest.Files.Count} files, {Rows(manifest)}, from the backup of {manifest.CreatedUtc:yyyy-MM-dd HH:mm:ss} UTC{version} into {Path.GetFullPath(options.DataDirectory)}; all checksums match."));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Rows(BackupManifest manifest) => manifest.AuditRows < 0
        ? "no ledger (state.db) in it"
        : string.Create(CultureInfo.InvariantCulture, $"{manifest.AuditRows} audit rows");

    private static SmartMailOptions Options(string[] settings)
    {
        using var host = WorkerConfig.Build(settings);
        return host.Options();
    }
}
