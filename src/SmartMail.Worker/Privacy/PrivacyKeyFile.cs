using System.Security.Cryptography;
using SmartMail.Core.Privacy;

namespace SmartMail.Worker.Privacy;

/// <summary>
/// The installation's privacy key: 32 random bytes in <c>DataDirectory/privacy.key</c> (hex), made on first use and
/// readable by the service user only (0600 on Linux). Every keyed hash of a CPR number or address is made with it; a
/// copy of <c>state.db</c> without it cannot be searched for a guessed CPR number.
/// </summary>
public static class PrivacyKeyFile
{
    /// <summary>The key file's name in the data directory.</summary>
    public const string FileName = "privacy.key";

    /// <summary>The hasher with the key of the installation in <paramref name="dataDirectory"/>, made when absent.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <returns>The hasher.</returns>
    /// <exception cref="IOException">The key file is unreadable or not a key.</exception>
    public static KeyedHash Load(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            Create(path);
        }
        var text = File.ReadAllText(path).Trim();
        try
        {
            return new KeyedHash(Convert.FromHexString(text));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            throw new IOException($"The privacy key '{path}' is not {KeyedHash.KeyLength} bytes in hex; restore it from the backup " +
                "(a new key makes every stored keyed hash unsearchable).", ex);
        }
    }

    private static void Create(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyedHash.KeyLength)));
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process made it first: use theirs.
        }
    }
}
