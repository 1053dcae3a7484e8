using System.Diagnostics;
using System.Reflection;

namespace SmartMail.Cli.Tests;

/// <summary>Runs the real <c>smartmail</c> program as a child process, as a user does, and captures what it prints.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>The non-empty lines of stderr.</summary>
        public IReadOnlyList<string> ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>The repository's root (holds SmartMail.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>
    /// The program: smartmail.dll in the CLI project's own build output (built by the project reference; the copy next to the
    /// tests lacks assemblies, see the csproj), or the one SMARTMAIL_TEST_PROGRAM names (to run these tests against another
    /// build, e.g. the one before a fix).
    /// </summary>
    public static string Program => Environment.GetEnvironmentVariable("SMARTMAIL_TEST_PROGRAM") is { Length: > 0 } other
        ? other
        : typeof(CliProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "SmartMailCliProgram").Value!; // set by the csproj

    public static async Task<Result> RunAsync(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [Program, .. args])
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
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A fresh empty directory for one test.</summary>
    public static string TempDirectory() => Directory.CreateTempSubdirectory("smartmail-cli-").FullName;

    /// <summary>The shipped default model.</summary>
    public static string DefaultModel => Path.Combine(RepositoryRoot, "models", "default", "smartmail-20news.zip");

    /// <summary>One of the English sample mails the tests route with <see cref="DefaultModel"/> (the quick start's are Danish).</summary>
    public static string EnglishSample(string name) => Path.Combine(RepositoryRoot, "tests", "TestData", "english-inbox", name);

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
