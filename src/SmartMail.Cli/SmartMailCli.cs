using System.CommandLine;
using SmartMail.Cli.Commands;
using SmartMail.Core.Classification;

namespace SmartMail.Cli;

/// <summary>The <c>smartmail</c> command line: the verbs on System.CommandLine, and one line plus an exit code for every failure.</summary>
internal static class SmartMailCli
{
    // The verbs that read the worker's configuration and so take --Section:Key=value settings.
    private static readonly HashSet<string> TakeSettings = new(StringComparer.Ordinal) { "run", "train", "retrain", "correct", "models", "check", "backup", "restore", "privacy", "compliance", "state" };

    /// <summary>The root command; <paramref name="settings"/> are the <c>--Section:Key=value</c> settings given.</summary>
    public static RootCommand Build(string[] settings)
    {
        var root = new RootCommand($"""
            smartmail — routes citizen mail to the right department.

            {ExitCodes.Table}
            """);
        root.Subcommands.Add(TrainCommand.Create(settings));
        root.Subcommands.Add(RetrainCommand.Create(settings));
        root.Subcommands.Add(CorrectCommand.Create(settings));
        root.Subcommands.Add(ModelsCommand.Create(settings));
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(RunCommand.Create(settings));
        root.Subcommands.Add(ExportTextCommand.Create());
        root.Subcommands.Add(CheckCommand.Create(settings));
        root.Subcommands.Add(BackupCommand.Create(settings));
        root.Subcommands.Add(BackupCommand.CreateRestore(settings));
        root.Subcommands.Add(PrivacyCommand.Create(settings));
        root.Subcommands.Add(ComplianceCommand.Create(settings));
        root.Subcommands.Add(StateCommand.Create(settings));
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the verb.</summary>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> InvokeAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        error ??= Console.Error;
        var (settings, rest) = WorkerConfig.Split(args);
        var parse = Build(settings).Parse(rest);
        var verb = parse.CommandResult.Command;
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"smartmail: {e.Message}");
            }
            await error.WriteLineAsync($"Run '{Path(verb)} --help' for usage.");
            return ExitCodes.Usage;
        }
        if (settings.Length > 0 && !TakeSettings.Contains(TopVerb(verb).Name))
        {
            await error.WriteLineAsync($"smartmail: '{TopVerb(verb).Name}' takes no settings such as {settings[0]}; settings apply to {string.Join(", ", TakeSettings)}.");
            return ExitCodes.Usage;
        }
        try
        {
            // ProcessTerminationTimeout null: the caller's token carries Ctrl+C and SIGTERM (Program.cs). System.CommandLine's
            // own handler would return 130/143 two seconds after the signal while a watching host was still stopping.
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            if (output is not null)
            {
                configuration.Output = output;
            }
            configuration.Error = error;
            return await parse.InvokeAsync(configuration, cancellationToken);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"smartmail: {ex.Message}");
            await error.WriteLineAsync($"Run '{Path(verb)} --help' for usage.");
            return ExitCodes.Usage;
        }
        catch (ConfigurationException ex)
        {
            foreach (var problem in ex.Problems)
            {
                await error.WriteLineAsync($"smartmail: configuration error: {problem}");
            }
            return ExitCodes.Configuration;
        }
        catch (MailServerException ex)
        {
            await error.WriteLineAsync($"smartmail: {ex.Message}");
            return ExitCodes.MailServer;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("smartmail: cancelled");
            return ExitCodes.Cancelled;
        }
        catch (Exception ex) when (ex is TrainingDataException or ModelBundleException or IOException or UnauthorizedAccessException
            or ArgumentException or InvalidOperationException)
        {
            await error.WriteLineAsync($"smartmail: error: {ex.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.Failure;
        }
    }

    private static Command TopVerb(Command command)
    {
        var current = command;
        while (current.Parents.OfType<Command>().FirstOrDefault() is { } parent and not RootCommand)
        {
            current = parent;
        }
        return current;
    }

    private static string Path(Command command)
    {
        var names = new List<string>();
        for (var current = command; current is not null and not RootCommand; current = current.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Insert(0, current.Name);
        }
        return string.Join(' ', ["smartmail", .. names]);
    }
}
