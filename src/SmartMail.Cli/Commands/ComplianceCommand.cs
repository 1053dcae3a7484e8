using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker.Privacy;
using SmartMail.Worker.State;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail compliance report --out DIR</c>: the compliance pack from the running installation.</summary>
internal static class ComplianceCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("compliance", "Documentation of the processing from the running installation (docs/privacy.md).");
        var report = new Command("report", $"""
            Writes compliance-report.md and compliance-report.html to DIR: a model card per model version (data, evaluation,
            automation and realised precision in service, threshold changes, corrections per label), the GDPR art. 30
            record of processing from the configuration, the oversight figures per mailbox and month, and retention.
            {CliOptions.SettingsNote}
            """);
        var output = new Option<DirectoryInfo>("--out") { Description = "The folder to write to (created if needed).", HelpName = "DIR", Required = true };
        report.Options.Add(output);
        report.SetAction(parse =>
        {
            var dir = parse.GetRequiredValue(output);
            using var host = WorkerConfig.Build(settings);
            var options = host.Options();
            var state = StateStores.SqlitePath(options.DataDirectory);
            if (!options.State.IsPostgreSql && !File.Exists(state))
            {
                throw new UsageException($"no state store at '{state}' (SmartMail:DataDirectory): run the worker first.");
            }
            using var figures = host.Services.GetRequiredService<PrivacyStore>().Figures();
            var sections = ComplianceReport.Build(options, figures, host.Services.GetRequiredService<IPrivacyStore>(),
                host.Services.GetRequiredService<IStateStore>(), DateTimeOffset.UtcNow);
            dir.Create();
            File.WriteAllText(Path.Combine(dir.FullName, "compliance-report.md"), ComplianceReport.Markdown(sections));
            File.WriteAllText(Path.Combine(dir.FullName, "compliance-report.html"), ComplianceReport.Html(sections));
            Console.Out.WriteLine($"Wrote compliance-report.md and compliance-report.html to {dir.FullName}.");
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(report);
        return command;
    }
}
