using System.Runtime.InteropServices;

namespace SmartMail.Worker.Sinks;

/// <summary>
/// Durable file replacement: the content is written to a temporary file and flushed to the device (fsync), then renamed
/// over the target, and then the directory is flushed so the rename itself survives a power loss. On Windows the rename
/// is <c>MoveFileEx(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)</c>, which returns only once the move is on disk
/// (NTFS journals the directory change; there is no directory fsync to call).
/// </summary>
internal static class DurableFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> durably; a reader sees the old file or the whole new one.</summary>
    /// <param name="path">The target.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="step">Told each durability step taken: ("fsync", temp file), ("rename", target), ("fsync-dir", directory).</param>
    /// <param name="cancellationToken">Cancels the write (not the rename).</param>
    /// <returns>A task.</returns>
    public static async Task WriteAtomicAsync(string path, ReadOnlyMemory<byte> content, Action<string, string>? step, CancellationToken cancellationToken)
    {
        // A fresh, unpredictable name, created exclusively (O_CREAT|O_EXCL, which follows no symbolic link): a link planted
        // under a predictable temporary name would make the write land wherever it points.
        var temp = TempName(path);
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true); // fsync(2) on Unix, FlushFileBuffers on Windows
        }
        step?.Invoke("fsync", temp);
        Replace(temp, path);
        step?.Invoke("rename", path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        SyncDirectory(directory);
        step?.Invoke("fsync-dir", directory);
    }

    /// <summary>The temporary file a write of <paramref name="path"/> goes through: <c>path.&lt;16 random hex digits&gt;.tmp</c>.</summary>
    /// <param name="path">The target.</param>
    /// <returns>A name no one can guess.</returns>
    internal static string TempName(string path) =>
        $"{path}.{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}.tmp";

    /// <summary>Flushes a directory's entries (new names, renames) to the device: fsync on the directory on Unix, nothing on Windows.</summary>
    /// <param name="directory">The directory.</param>
    /// <exception cref="IOException">The directory cannot be opened or flushed.</exception>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // The write-through move is the equivalent; Windows has no fsync of a directory handle for us to call.
        }
        var fd = Native.open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"Cannot open the directory '{directory}' to flush it (errno {errno}).", errno);
        }
        try
        {
            if (Native.fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                // EINVAL: the file system cannot sync a directory (some network and FUSE file systems); nothing more to do.
                if (errno != 22)
                {
                    throw new IOException($"Cannot flush the directory '{directory}' (errno {errno}).", errno);
                }
            }
        }
        finally
        {
            _ = Native.close(fd);
        }
    }

    private static void Replace(string temp, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            if (!Native.MoveFileExW(temp, path, Native.MoveFileReplaceExisting | Native.MoveFileWriteThrough))
            {
                throw new IOException($"Cannot move '{temp}' to '{path}'.", Marshal.GetHRForLastWin32Error());
            }
            return;
        }
        File.Move(temp, path, overwrite: true); // rename(2): atomic
    }

    private static class Native
    {
        public const uint MoveFileReplaceExisting = 0x1;
        public const uint MoveFileWriteThrough = 0x8;

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054, CA2101 // DllImport (not LibraryImport) keeps the assembly free of unsafe code; the path is marshalled as UTF-8 by hand.
        private static extern int open(byte[] path, int flags);
#pragma warning restore SYSLIB1054, CA2101

        public static int open(string path, int flags) =>
            open(System.Text.Encoding.UTF8.GetBytes(path + "\0"), flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int fd);

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.System32)]
        [return: MarshalAs(UnmanagedType.Bool)]
        public static extern bool MoveFileExW(string existingFileName, string newFileName, uint flags);
#pragma warning restore SYSLIB1054
    }
}
