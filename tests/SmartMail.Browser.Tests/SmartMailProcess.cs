using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SmartMail.Browser.Tests;

/// <summary>
/// The real <c>smartmail run --watch</c> (the README's main command) as a child process: the worker with the web app in
/// its process. Settings come as <c>--SmartMail:…</c> arguments; every line it prints is kept.
/// </summary>
public sealed class SmartMailProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private SmartMailProcess(Process process, Uri webUrl)
    {
        _process = process;
        WebUrl = webUrl;
    }

    /// <summary>The web app's address.</summary>
    public Uri WebUrl { get; }

    /// <summary>Everything printed so far (stdout and stderr), one line each.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>The repository's root (holds SmartMail.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>
    /// The program: smartmail.dll in the CLI project's own output folder (built by the project reference, with its own
    /// dependencies: the copy beside the tests lacks the packages that the tests' ASP.NET Core framework reference leaves out),
    /// or the one SMARTMAIL_TEST_PROGRAM names.
    /// </summary>
    public static string Program
    {
        get
        {
            if (Environment.GetEnvironmentVariable("SMARTMAIL_TEST_PROGRAM") is { Length: > 0 } other)
            {
                return other;
            }
            var output = Path.GetRelativePath(Path.Combine(RepositoryRoot, "tests", "SmartMail.Browser.Tests"), AppContext.BaseDirectory);
            var own = Path.Combine(RepositoryRoot, "src", "SmartMail.Cli", output, "smartmail.dll");
            return File.Exists(own) ? own : Path.Combine(AppContext.BaseDirectory, "smartmail.dll");
        }
    }

    /// <summary>The shipped default model.</summary>
    public static string DefaultModel => Path.Combine(RepositoryRoot, "models", "default", "smartmail-20news.zip");

    /// <summary>The Danish demo model of the quick start (KLE subject titles → KLE main group): the web tests' model, so the pages show Danish mail and KLE groups.</summary>
    public static string DanishModel => Path.Combine(RepositoryRoot, "models", "kle-demo", "smartmail-kle-demo.zip");

    /// <summary>Starts <c>smartmail run --watch</c> in <paramref name="workingDirectory"/> with the web app on a free loopback port.</summary>
    /// <param name="workingDirectory">Its working directory (the embedded default's <c>.smartmail</c> goes there).</param>
    /// <param name="settings">Settings, <c>SmartMail:Key=value</c>.</param>
    /// <param name="beforeStart">Given the web app's address, more settings (e.g. an OIDC client registered for that address).</param>
    /// <returns>The process, once the web app answers.</returns>
    public static async Task<SmartMailProcess> StartAsync(string workingDirectory, IEnumerable<string> settings,
        Func<Uri, IEnumerable<string>>? beforeStart = null)
    {
        var webUrl = new Uri($"http://127.0.0.1:{FreePort()}");
        var all = settings.Concat(beforeStart?.Invoke(webUrl) ?? []);
        var psi = new ProcessStartInfo("dotnet",
            [Program, "run", "--watch", $"--SmartMail:Web:Url={webUrl.ToString().TrimEnd('/')}",
                .. all.Select(s => "--" + s)])
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
        var process = Process.Start(psi)!; // Start with a ProcessStartInfo returns a process or throws
        var started = new SmartMailProcess(process, webUrl);
        process.OutputDataReceived += (_, e) => started.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => started.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        try
        {
            await started.WaitForWebAsync(TimeSpan.FromSeconds(90));
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }
        return started;
    }

    /// <summary>Waits until a printed line matches <paramref name="match"/>.</summary>
    /// <param name="match">The test.</param>
    /// <param name="timeout">How long at most.</param>
    /// <returns>The line.</returns>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }
            if (_process.HasExited)
            {
                break;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("No such line was printed. Output:\n" + string.Join('\n', _lines));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    private async Task WaitForWebAsync(TimeSpan timeout)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"smartmail run --watch ended with {_process.ExitCode} before the web app answered:\n"
                    + string.Join('\n', _lines));
            }
            try
            {
                using var response = await http.GetAsync(new Uri(WebUrl, "/login"));
                return; // any answer: Kestrel listens and the app is mapped
            }
            catch (HttpRequestException)
            {
                await Task.Delay(250);
            }
            catch (TaskCanceledException)
            {
                await Task.Delay(250);
            }
        }
        throw new TimeoutException($"The web app did not answer on {WebUrl} within {timeout.TotalSeconds} s:\n" + string.Join('\n', _lines));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartMail.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("SmartMail.sln not found above " + AppContext.BaseDirectory);
    }
}
