using Microsoft.Extensions.Hosting;

namespace SmartMail.Worker.State;

/// <summary>
/// One mail-processing SmartMail per data directory: two processes on one ledger would share one instance id, so neither
/// the lease nor the claims could tell them apart. The lock is an exclusive open of <c>DataDirectory/smartmail.lock</c>
/// (on Linux an advisory <c>flock</c>, on Windows a share-none handle); the operating system drops it when the process
/// ends, however it ends. Read-only and learning commands (<c>evaluate</c>, <c>correct</c>, <c>retrain</c>) do not take it.
/// </summary>
public sealed class DataDirectoryLock : IHostedService, IDisposable
{
    private readonly string _path;
    private FileStream? _handle;

    /// <summary>Creates the lock for <paramref name="dataDirectory"/> (not yet taken).</summary>
    /// <param name="dataDirectory">The data directory (<c>SmartMail:DataDirectory</c>).</param>
    public DataDirectoryLock(string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        _path = Path.Combine(Path.GetFullPath(dataDirectory), "smartmail.lock");
    }

    /// <summary>Whether this process holds the lock.</summary>
    public bool IsHeld => _handle is not null;

    /// <summary>Takes the lock (at once, or not at all).</summary>
    /// <exception cref="DataDirectoryInUseException">Another process holds it.</exception>
    public void Acquire()
    {
        if (_handle is not null)
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        try
        {
            _handle = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not (FileNotFoundException or DirectoryNotFoundException or PathTooLongException))
        {
            throw new DataDirectoryInUseException(
                $"SmartMail:DataDirectory: another SmartMail process is routing mail from '{Path.GetDirectoryName(_path)}' (it holds {_path}). " +
                "Stop it, or give this one its own data directory (a second instance on the same mailbox then stands by for the mailbox lease).", ex);
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Acquire();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }
}

/// <summary>Another process holds the data directory: a start-up error that names the setting.</summary>
public sealed class DataDirectoryInUseException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public DataDirectoryInUseException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the setting.</param>
    public DataDirectoryInUseException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the setting.</param>
    /// <param name="innerException">The operating system's refusal.</param>
    public DataDirectoryInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
