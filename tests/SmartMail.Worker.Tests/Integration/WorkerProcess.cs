using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// The real worker process (<c>dotnet SmartMail.Worker.dll</c>) watching one Dovecot mailbox, its ledger in a data directory.
/// Killed with <see cref="Kill"/> it gets SIGKILL: no shutdown, no flush. Log lines go to a callback, one line each.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    /// <summary>Starts the worker on <paramref name="dovecot"/>'s mailbox (named <c>proc</c>), polling every second.</summary>
    /// <param name="dovecot">The server.</param>
    /// <param name="dataDirectory">The worker's data directory (its ledger).</param>
    /// <param name="modelPath">The model bundle.</param>
    /// <param name="batchSize">Mails per batch.</param>
    /// <param name="log">Receives each log line.</param>
    /// <param name="overrides">Settings under <c>SmartMail:</c> that replace the defaults here (e.g. <c>Mailboxes__0__LeaseDuration</c>).</param>
    /// <param name="environment">Further environment variables of the process (e.g. a test hook's).</param>
    public static WorkerProcess Start(Dovecot dovecot, string dataDirectory, string modelPath, int batchSize, Action<string> log,
        IReadOnlyDictionary<string, string>? overrides = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SmartMail.Worker.dll");
        var psi = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dataDirectory,
        };
        var settings = new Dictionary<string, string>
        {
            ["DataDirectory"] = dataDirectory,
            ["ModelPath"] = modelPath,
            ["Web__Url"] = "http://127.0.0.1:0", // a free port, not the default 5080 (issue 24)
            ["Mailboxes__0__Name"] = "proc",
            ["Mailboxes__0__Host"] = "127.0.0.1",
            ["Mailboxes__0__Port"] = dovecot.Port.ToString(CultureInfo.InvariantCulture),
            ["Mailboxes__0__Security"] = "None",
            ["Mailboxes__0__AllowPlaintext"] = "true",
            ["Mailboxes__0__Username"] = dovecot.User,
            ["Mailboxes__0__Password"] = dovecot.Password,
            ["Mailboxes__0__PollInterval"] = "00:00:01",
            ["Mailboxes__0__BatchSize"] = batchSize.ToString(CultureInfo.InvariantCulture),
            // A restarted worker resumes its own lease at once; a short lease bounds the wait when a kill cut a renewal off.
            ["Mailboxes__0__CommandTimeout"] = "00:00:10",
            ["Mailboxes__0__LeaseDuration"] = "00:00:20",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
        foreach (var (key, value) in settings)
        {
            psi.Environment["SMARTMAIL_SmartMail__" + key] = value;
        }
        psi.Environment["SMARTMAIL_Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => Forward(e.Data);
        process.ErrorDataReceived += (_, e) => Forward(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process);

        void Forward(string? line)
        {
            if (line is not null)
            {
                log(line);
            }
        }
    }

    /// <summary>A log callback that writes the worker's warnings and errors to <paramref name="output"/> (information lines would drown them).
    /// An entry's indented continuation lines (the console formatter's message line) go with its first line.</summary>
    public static Action<string> WarningsTo(ITestOutputHelper output)
    {
        var quiet = false;
        return line =>
        {
            if (line.StartsWith("info:", StringComparison.Ordinal) || line.StartsWith("dbug:", StringComparison.Ordinal))
            {
                quiet = true;
                return;
            }
            quiet &= line.StartsWith(' ');
            if (!quiet)
            {
                Write(output, line);
            }
        };
    }

    private static void Write(ITestOutputHelper output, string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // the test has finished
        }
    }

    /// <summary>Whether the process has ended (by itself, or killed).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>SIGKILL, and wait until it is gone.</summary>
    public async Task KillAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGKILL without waiting.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    /// <summary>Mails the ledger at <paramref name="db"/> has acknowledged (0 while it does not exist yet).</summary>
    public static int Acknowledged(string db) =>
        int.Parse(Query(db, "SELECT COUNT(*) FROM mail WHERE state = 3").FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);

    /// <summary>The rows of <paramref name="sql"/> on the ledger (one column each), read-only; empty while it does not exist yet.</summary>
    public static List<string> Query(string db, string sql) => File.Exists(db) ? LedgerQuery.Rows(db, sql) : [];

    /// <summary>Polls <paramref name="condition"/> every 20 ms; fails the test after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < timeout, $"condition not met within {timeout}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
