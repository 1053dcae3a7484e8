using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker.Privacy;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail privacy find|export|erase|retention</c>: one person's data on request (GDPR art. 15 and 17). Output is
/// redacted: the CPR number or address asked for is never printed, only its masked form and keyed hash.
/// </summary>
internal static class PrivacyCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("privacy", $"""
            A citizen's request for access or erasure: find every place SmartMail keeps their mail (journal, state store,
            audit trail, models trained on it), export it as a package for art. 15, or erase it (art. 17). Give exactly one
            of --cpr, --address, --name; '-' reads the value from standard input (keeps it out of the shell history).
            Each run is an audit row naming who ran it, with no personal data. See docs/privacy.md.
            {CliOptions.SettingsNote}
            """);
        command.Subcommands.Add(Find(settings));
        command.Subcommands.Add(Export(settings));
        command.Subcommands.Add(Erase(settings));
        command.Subcommands.Add(Retention(settings));
        return command;
    }

    private sealed record Who(Option<string?> Cpr, Option<string?> Address, Option<string?> Name, Option<string?> By)
    {
        public static Who AddTo(Command command)
        {
            var who = new Who(
                new Option<string?>("--cpr") { Description = "The person's CPR number, in any usual spelling.", HelpName = "N" },
                new Option<string?>("--address") { Description = "The person's e-mail address.", HelpName = "A" },
                new Option<string?>("--name") { Description = "The person's name (searched in text: slower, and may find namesakes).", HelpName = "S" },
                new Option<string?>("--by") { Description = "Who asks (for the audit row; default: the user name).", HelpName = "NAME" });
            command.Options.Add(who.Cpr);
            command.Options.Add(who.Address);
            command.Options.Add(who.Name);
            command.Options.Add(who.By);
            command.Validators.Add(r =>
            {
                var given = new[] { who.Cpr, who.Address, who.Name }.Count(o => r.GetResult(o) is not null);
                if (given != 1)
                {
                    r.AddError("give exactly one of --cpr, --address, --name.");
                }
            });
            return who;
        }

        public PersonQuery Query(ParseResult parse)
        {
            try
            {
                return parse.GetValue(Cpr) is { } cpr ? PersonQuery.ByCpr(Value(cpr))
                    : parse.GetValue(Address) is { } address ? PersonQuery.ByAddress(Value(address))
                    : PersonQuery.ByName(Value(parse.GetValue(Name) ?? ""));
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message.Split(" (Parameter", 2)[0]);
            }
        }

        public string Asker(ParseResult parse) => parse.GetValue(By) ?? Environment.UserName;

        private static string Value(string given) => given == "-" ? (Console.In.ReadLine() ?? "").Trim() : given;
    }

    private static Command Find(string[] settings)
    {
        var command = new Command("find", "Lists every place that holds something of the person, with what each holds.");
        var who = Who.AddTo(command);
        var json = new Option<bool>("--json") { Description = "Write the findings as JSON to stdout." };
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            var query = who.Query(parse);
            using var host = WorkerConfig.Build(settings);
            var findings = host.Services.GetRequiredService<PrivacyService>().Find(query, who.Asker(parse));
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(findings, CliJson.Indented));
            }
            else
            {
                Console.Out.Write(PrivacyText.Findings(findings));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Export(string[] settings)
    {
        var command = new Command("export", """
            Writes the art. 15 package: a zip with the person's mails (.eml), the decisions (JSON), every place SmartMail
            keeps something of them, and a README in Danish and English. The zip is readable by its owner only.
            """);
        var who = Who.AddTo(command);
        var output = new Option<FileInfo>("--out") { Description = "The zip to write (must not exist).", HelpName = "FILE", Required = true };
        command.Options.Add(output);
        command.SetAction(parse =>
        {
            var query = who.Query(parse);
            var file = parse.GetRequiredValue(output);
            if (file.Exists)
            {
                throw new UsageException($"--out: '{file.FullName}' exists; give a new file name.");
            }
            using var host = WorkerConfig.Build(settings);
            var privacy = host.Services.GetRequiredService<PrivacyService>();
            var findings = privacy.Find(query, who.Asker(parse), audit: false);
            var files = privacy.Export(findings, file.FullName, who.Asker(parse));
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Exported {findings.Mails.Count} mails ({files} files) for {findings.Query} to {file.FullName}."));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Erase(string[] settings)
    {
        var command = new Command("erase", """
            Removes or pseudonymises every place 'find' lists, in one audited step: journal files deleted, state-store rows
            deleted (the ledger row keeps only ids and the decision, so the mail is never routed twice), model versions
            trained on the mail flagged (the next retrain leaves the erased examples out). Mail not yet delivered is erased
            once it is. Audit rows hold no CPR, address or text and stay. Asks before it acts unless --yes.
            """);
        var who = Who.AddTo(command);
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be erased; change nothing." };
        var yes = new Option<bool>("--yes") { Description = "Do not ask." };
        command.Options.Add(dryRun);
        command.Options.Add(yes);
        command.SetAction(parse =>
        {
            var query = who.Query(parse);
            using var host = WorkerConfig.Build(settings);
            var privacy = host.Services.GetRequiredService<PrivacyService>();
            var findings = privacy.Find(query, who.Asker(parse), audit: false);
            Console.Out.Write(PrivacyText.Findings(findings));
            var isDryRun = parse.GetValue(dryRun);
            if (!isDryRun && !parse.GetValue(yes))
            {
                Console.Out.Write($"Erase {findings.Mails.Count} mails in {findings.PlaceCount} places? Type 'erase' to go on: ");
                if (!string.Equals(Console.In.ReadLine()?.Trim(), "erase", StringComparison.Ordinal))
                {
                    Console.Error.WriteLine("smartmail: nothing erased.");
                    return ExitCodes.Failure;
                }
            }
            var result = privacy.Erase(findings, who.Asker(parse), isDryRun);
            Console.Out.Write(PrivacyText.Erasure(result));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Retention(string[] settings)
    {
        var command = new Command("retention", """
            What Learning:RetentionDays purged and when (training text and the web app's rows), erasures still waiting for
            their mail's delivery, and the model versions trained on erased mail.
            """);
        var json = new Option<bool>("--json") { Description = "Write it as JSON to stdout." };
        command.Options.Add(json);
        command.SetAction(parse =>
        {
            using var host = WorkerConfig.Build(settings);
            var store = host.Services.GetRequiredService<IPrivacyStore>();
            var report = new RetentionReport(host.Options().Learning.RetentionDays, store.Purges(50), store.PendingCount(),
                [.. store.FlaggedModels().Select(f => f.ModelVersion)]);
            Console.Out.Write(parse.GetValue(json) ? JsonSerializer.Serialize(report, CliJson.Indented) + "\n" : PrivacyText.Retention(report));
            return ExitCodes.Ok;
        });
        return command;
    }
}
