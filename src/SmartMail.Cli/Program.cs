using SmartMail.Cli;
using SmartMail.Cli.Commands;
using SmartMail.Core.Classification;

const string Usage = """
    smartmail — routes citizen mail to the right department

    Commands:
      train     --data DIR | --csv FILE [--text-column C --label-column C] | --imap [--mailbox M] --out model.zip
                [--target-precision 0.95] [--holdout 0.2] [--seed 1] [--min-examples 10] [--no-refit]
      retrain   [--data DIR | --csv FILE | --imap] [--dry-run]   candidate from history + corrections; promoted if not worse
      correct   FINGERPRINT LABEL [--by NAME]                   records a correction reported outside the mailbox
      models    list | promote VERSION | rollback               the versioned models the worker serves
      evaluate  --model model.zip --data DIR | --csv FILE [--json FILE|-] [--markdown FILE|-] [--threads N]
      classify  [--model model.zip] FILE.eml... [--explain] [--json]
      run       [--watch] [--SmartMail:Setting=value ...]   the worker (embedded default without configuration)
      export-text --data DIR | --csv FILE --out FILE.tsv     the extracted text, to compare other tools on it

    Run 'smartmail COMMAND --help' for details. Exit codes: 0 ok, 1 failed, 2 wrong usage.
    """;

if (Console.IsOutputRedirected)
{
    // Logs and CI capture: do not wrap lines at the 80 columns Spectre assumes without a terminal.
    Spectre.Console.AnsiConsole.Profile.Width = 240;
}

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    var rest = args[1..];
    return args[0] switch
    {
        "train" => await TrainCommand.RunAsync(rest, cancel.Token),
        "retrain" => await RetrainCommand.RunAsync(rest, cancel.Token),
        "correct" => CorrectCommand.Run(rest),
        "models" => ModelsCommand.Run(rest),
        "evaluate" => EvaluateCommand.Run(rest, cancel.Token),
        "classify" => ClassifyCommand.Run(rest),
        "run" => await RunCommand.RunAsync(rest, cancel.Token),
        "export-text" => ExportTextCommand.Run(rest, cancel.Token),
        _ => throw new UsageException($"unknown command '{args[0]}'"),
    };
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"smartmail: {ex.Message}");
    Console.Error.WriteLine("Run 'smartmail --help' for usage.");
    return 2;
}
catch (Exception ex) when (ex is TrainingDataException or ModelBundleException or IOException or UnauthorizedAccessException
    or ArgumentException or InvalidOperationException)
{
    Console.Error.WriteLine($"smartmail: error: {ex.Message}");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("smartmail: cancelled");
    return 130;
}
