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
    private static readonly JsonSerializerOptions CompactJson = new(ModelBundle.JsonOptions) { WriteIndented = false };

    public static int Run(string[] argv)
    {
        var args = CliArgs.Parse(argv, "explain", "json", "help");
        if (args.Flag("help"))
        {
            Console.WriteLine($"""
                smartmail classify [--model model.zip] FILE.eml... [--explain] [--json]
                  Prints the decision (label or manual triage), confidence and top three for each file.
                  --explain names the words that drove the decision. Default model: {DefaultPaths.ModelFile}
                """);
            return 0;
        }
        var modelPath = args.Get("model") ?? DefaultPaths.Model;
        var explain = args.Flag("explain");
        var json = args.Flag("json");
        args.EnsureAllUsed();
        if (args.Positional.Count == 0)
        {
            throw new UsageException("give at least one message file");
        }

        using var bundle = ModelBundle.Load(modelPath);
        var policy = new RoutingPolicy([], bundle);
        var extractor = new MailExtractor();
        var failures = 0;
        foreach (var file in args.Positional)
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
                    CompactJson));
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
        return failures == 0 ? 0 : 1;
    }
}
