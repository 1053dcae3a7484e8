using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SmartMail.Cli.Tests.Security;

/// <summary>
/// Issue 24, finding 10: when the web app's port is taken, <c>smartmail run --watch</c> (the embedded default, a person at a
/// terminal) takes the next free port and prints its link, as Jupyter does; no stack trace.
/// </summary>
public sealed class PortInUseTests
{
    [Fact]
    public async Task RunWatch_PortTaken_TakesTheNextFreePort_AndPrintsItsLink_WithoutAStackTrace()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        var dir = CliProcess.TempDirectory();
        var lines = new ConcurrentQueue<string>();
        var psi = new ProcessStartInfo("dotnet", [CliProcess.Program, "run", "--watch", $"--SmartMail:Web:Url=http://127.0.0.1:{taken}",
            $"--SmartMail:ModelPath={CliProcess.DefaultModel}"])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("SMARTMAIL_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
        using var run = Process.Start(psi)!;
        run.OutputDataReceived += (_, e) => lines.Enqueue(e.Data ?? string.Empty);
        run.ErrorDataReceived += (_, e) => lines.Enqueue(e.Data ?? string.Empty);
        run.BeginOutputReadLine();
        run.BeginErrorReadLine();
        try
        {
            // Until it says where the web app is (or gives up on it), or exits.
            for (var waited = 0; waited < 1200 && !run.HasExited && !lines.Any(l => l.StartsWith("Web app", StringComparison.Ordinal)); waited++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }
        finally
        {
            run.Kill(entireProcessTree: true);
            await run.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }

        var output = string.Join('\n', lines);
        var web = Assert.Single(lines, l => l.StartsWith("Web app:", StringComparison.Ordinal));
        Assert.DoesNotContain($"127.0.0.1:{taken}/", web, StringComparison.Ordinal);
        Assert.Matches(@"^Web app: http://127\.0\.0\.1:\d+ .*http://127\.0\.0\.1:\d+/signin\?token=[A-Za-z]{40}$", web);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Hosting failed to start", output, StringComparison.Ordinal);
    }
}
