using System.Diagnostics;
using System.Text;

namespace SmartMail.Cli.Tests.Ops;

/// <summary>
/// The real <c>smartmail</c> program running in the background (e.g. <c>run --watch</c>), stopped with SIGTERM as a service
/// manager or <c>kill</c> stops it. Not SIGINT (Ctrl+C): a process started by a shell in the background without job control
/// ignores SIGINT, and so does everything it starts, a CI runner's tests included; the program then rightly never sees it.
/// </summary>
internal sealed class BackgroundCli : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BackgroundCli(Process process)
    {
        _process = process;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>What it printed so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static BackgroundCli Start(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [CliProcess.Program, .. args])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("SMARTMAIL_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
        var cli = new BackgroundCli(Process.Start(psi)!);
        cli._process.OutputDataReceived += (_, e) => cli.Append(e.Data);
        cli._process.ErrorDataReceived += (_, e) => cli.Append(e.Data);
        cli._process.BeginOutputReadLine();
        cli._process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>SIGTERM, then waits for the exit.</summary>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"smartmail did not stop within 2 minutes of SIGTERM; it printed:\n{Output}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
