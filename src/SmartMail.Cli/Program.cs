using System.Runtime.InteropServices;
using SmartMail.Cli;

if (Console.IsOutputRedirected)
{
    // Logs and CI capture: do not wrap lines at the 80 columns Spectre assumes without a terminal.
    Spectre.Console.AnsiConsole.Profile.Width = 240;
}

// Ctrl+C (SIGINT) and a service manager's or kill's SIGTERM both ask the verb to stop: it finishes what it has in hand
// (run --watch stops its host, which waits for the mail being delivered) and the program exits when the verb has ended.
// A shell that starts a program in the background without job control makes it ignore SIGINT; SIGTERM still stops it.
using var cancel = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await SmartMailCli.InvokeAsync(args, cancellationToken: cancel.Token);
