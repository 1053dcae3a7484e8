using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using Spectre.Console;

namespace SmartMail.Cli.Commands;

/// <summary><c>smartmail classify</c>: routes .eml files with a model bundle and says why.</summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var command = new Command("classify", $"""
            Prints the decision (label or manual triage), confidence and top three for each file.
            Default model: {DefaultPaths.ModelFile}, found next to the program or in the repository it was built in.
            """);
        var model = new Option<string?>("--model") { Description = "The model bundle (default: the shipped model).", HelpName = "model.zip" };
        var explain = new Option<bool>("--explain") { Description = "Name the words that drove the decision." };
        var json = new Option<bool>("--json") { Description = "One JSON object per file." };
        var files = new Argument<string[]>("FILE.eml") { Description = "The messages.", Arity = ArgumentArity.OneOrMore };
        command.Options.Add(model);
        command.Options.Add(explain);
        command.Options.Add(json);
        command.Arguments.Add(files);
        command.SetAction(parse => Classify(parse.GetValue(model) ?? DefaultPaths.Model, parse.GetRequiredValue(files), parse.GetValue(explain), parse.GetValue(json)));
        return command;
    }

    private static int Classify(string modelPath, string[] files, bool explain, bool json)
    {
        using var bundle = ModelBundle.Load(modelPath);
        var policy = new RoutingPolicy([], bundle);
        var extractor = new MailExtractor();
        var failures = 0;
        foreach (var file in files)
        {
            byte[] raw;
            try
            {
                raw = File.ReadAllBytes(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"smartmail: error: cannot read '{file}': {ex.Message}");
                failures++;
                continue;
            }
            var document = extractor.Extract(raw);
            var decision = policy.Decide(document);
            var top = decision.Top.Count > 0 ? decision.Top[0].Label : null;
            var why = explain && top is not null
                ? bundle.Model.Explain(new TextInput(document.Subject, document.Body), bundle.Model.Labels.ToList().IndexOf(top), 8)
                : [];
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { file, fingerprint = document.Fingerprint, decision, explanation = why },
                    CliJson.Compact));
                continue;
            }
            var route = decision.Label ?? "manual triage";
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[bold]{file}[/]: {route} ({decision.Source.ToString().ToLowerInvariant()}, confidence {decision.Confidence.ToString("0.000", CultureInfo.InvariantCulture)})");
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  top: {string.Join(", ", decision.Top.Select(t => $"{t.Label} {t.Score.ToString("0.000", CultureInfo.InvariantCulture)}"))}");
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  reason: {decision.Reason}");
            if (why.Count > 0)
            {
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  because of: {string.Join(", ", why.Select(w => $"\"{w.Term}\" {w.Contribution.ToString("0.00", CultureInfo.InvariantCulture)}"))}");
            }
        }
        return failures == 0 ? ExitCodes.Ok : ExitCodes.Failure;
    }
}
