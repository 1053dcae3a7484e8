namespace SmartMail.Worker.Options;

/// <summary>
/// The data directory holds raw mail, the ledger, the audit trail and the keys that protect the web app's cookies: on
/// Linux SmartMail creates it 0700 and its files 0600 whatever the umask, and refuses to work in one that other users
/// can enter. On Windows the install steps (docs/operations.md) remove inherited access; the keys are encrypted with DPAPI.
/// </summary>
public static class DataDirectoryPermissions
{
    /// <summary>Owner only: read, write, enter.</summary>
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Owner only: read, write.</summary>
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode OthersAndGroup = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates <paramref name="directory"/> 0700 (and any missing parent) when it does not exist, and its ledger and audit
    /// trail 0600 before SQLite or the audit writer create them with the umask's mode (SQLite gives its -wal and -shm
    /// files the database's mode). An existing directory is left as it is: <see cref="Check"/> judges it.
    /// </summary>
    /// <param name="directory">The data directory.</param>
    /// <param name="files">Files in it to create empty and private when absent (e.g. <c>state.db</c>).</param>
    public static void Prepare(string directory, params string[] files)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(files);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, PrivateDirectory);
        }
        foreach (var file in files)
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                try
                {
                    using var _ = new FileStream(path, new FileStreamOptions
                    {
                        Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite, UnixCreateMode = PrivateFile,
                    });
                }
                catch (IOException) when (File.Exists(path))
                {
                    // Created meanwhile by another process on the same directory: its mode is that process's business.
                }
            }
        }
    }

    /// <summary>What is wrong with the data directory's permissions, as one line naming the setting; none when it is private.</summary>
    /// <param name="directory">The data directory (<c>SmartMail:DataDirectory</c>).</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    public static string? Check(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (OperatingSystem.IsWindows() || !Directory.Exists(directory))
        {
            return null;
        }
        var mode = File.GetUnixFileMode(directory);
        if ((mode & OthersAndGroup) == 0)
        {
            return null;
        }
        var full = Path.GetFullPath(directory);
        return $"{SmartMailOptions.SectionName}:DataDirectory: '{full}' can be read by other users (mode {Octal(mode)}); it holds raw mail, "
            + $"the ledger and the web app's keys: run chmod 700 '{full}' (as its owner), or point DataDirectory to a private directory.";
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>, readable and writable by this process's user only (0600 on Linux).</summary>
    /// <param name="path">The file (replaced).</param>
    /// <param name="text">The text.</param>
    public static void WritePrivateFile(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        File.Delete(path); // a file of the old mode is not reused
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }
        using var writer = new StreamWriter(path, System.Text.Encoding.UTF8, options);
        writer.Write(text);
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);
}
