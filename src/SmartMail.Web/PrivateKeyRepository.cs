using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Logging;

namespace SmartMail.Web;

/// <summary>
/// The cookie-protection keys in a directory only the service user can read: on Linux the directory is 0700 and every key
/// file 0600 (kept so at start and after each new key), whatever the umask. The keys are encrypted as well when a
/// certificate is configured (<see cref="WebOptions.KeysCertificateFile"/>), and with DPAPI on Windows.
/// </summary>
internal sealed class PrivateKeyRepository : FileSystemXmlRepository
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = PrivateFile | UnixFileMode.UserExecute;

    /// <summary>Creates the repository, creating the directory when absent and tightening what is there.</summary>
    /// <param name="directory">The keys' directory.</param>
    /// <param name="loggerFactory">The logger factory.</param>
    public PrivateKeyRepository(DirectoryInfo directory, ILoggerFactory loggerFactory)
        : base(Create(directory), loggerFactory)
    {
        Tighten();
    }

    /// <inheritdoc />
    public override void StoreElement(XElement element, string friendlyName)
    {
        base.StoreElement(element, friendlyName);
        Tighten();
    }

    private static DirectoryInfo Create(DirectoryInfo directory)
    {
        if (!OperatingSystem.IsWindows())
        {
            if (!directory.Exists)
            {
                System.IO.Directory.CreateDirectory(directory.FullName, PrivateDirectory);
            }
            else if (directory.UnixFileMode != PrivateDirectory)
            {
                directory.UnixFileMode = PrivateDirectory;
            }
        }
        return directory;
    }

    private void Tighten()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory.FullName, "*.xml"))
        {
            if (File.GetUnixFileMode(file) != PrivateFile)
            {
                File.SetUnixFileMode(file, PrivateFile);
            }
        }
    }
}
