using SmartMail.Cli;

if (Console.IsOutputRedirected)
{
    // Logs and CI capture: do not wrap lines at the 80 columns Spectre assumes without a terminal.
    Spectre.Console.AnsiConsole.Profile.Width = 240;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return await SmartMailCli.InvokeAsync(args, cancellationToken: cancel.Token);
