using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SmartMail.Core.Attachments;
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
            // Terms found in attachment text or names (they may occur in the body too); which files were read or skipped.
            var fromAttachments = AttachmentTerms.Find(document, why.Select(w => w.Term));
            var attachments = explain ? Attachments(document) : [];
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    file,
                    fingerprint = document.Fingerprint,
                    decision,
                    explanation = why.Select(w => new { term = w.Term, contribution = w.Contribution, attachment = fromAttachments.Contains(w.Term) }),
                    attachments = explain ? attachments : null,
                }, CliJson.Compact));
                continue;
            }
            var route = decision.Label ?? "manual triage";
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"[bold]{file}[/]: {route} ({decision.Source.ToString().ToLowerInvariant()}, confidence {decision.Confidence.ToString("0.000", CultureInfo.InvariantCulture)})");
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  top: {string.Join(", ", decision.Top.Select(t => $"{t.Label} {t.Score.ToString("0.000", CultureInfo.InvariantCulture)}"))}");
            AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  reason: {decision.Reason}");
            if (why.Count > 0)
            {
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  because of: {string.Join(", ", why.Select(w => $"\"{w.Term}\" {w.Contribution.ToString("0.00", CultureInfo.InvariantCulture)}{(fromAttachments.Contains(w.Term) ? " [bilag]" : "")}"))}");
            }
            foreach (var a in attachments)
            {
                AnsiConsole.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"  bilag: {a.Name}: {a.Status}");
            }
        }
        return failures == 0 ? ExitCodes.Ok : ExitCodes.Failure;
    }

    // One line per attachment: read (format, pages, characters, what cut it short), skipped with its reason, or only named.
    private static List<AttachmentLine> Attachments(MailDocument document)
    {
        var lines = document.AttachmentTexts.Select(a => new AttachmentLine(a.FileName ?? a.MediaType, a.Kind.ToString().ToLowerInvariant(), a.IsRead,
            a.Skipped, a.Truncated, a.Pages, a.TotalPages, a.Text?.Length ?? 0,
            a.IsRead
                ? $"read as {a.Kind.ToString().ToLowerInvariant()}{(a.Kind == AttachmentKind.Pdf ? $", {a.Pages} of {a.TotalPages} pages" : "")}, {a.Text?.Length ?? 0} characters{(a.Truncated is { } t ? $" (cut short: {t})" : "")}"
                : $"skipped: {a.Skipped}")).ToList();
        var read = document.AttachmentTexts.Select(a => (a.FileName, a.MediaType)).ToHashSet();
        lines.AddRange(document.Attachments.Where(a => !read.Contains((a.FileName, a.MediaType))).Select(a => new AttachmentLine(a.FileName ?? a.MediaType,
            null, false, "no text format (only the name is read)", null, 0, 0, 0, $"name only ({a.MediaType}: no text format SmartMail reads)")));
        return lines;
    }

    private sealed record AttachmentLine(string Name, string? Kind, bool Read, string? Skipped, string? Truncated, int Pages, int TotalPages,
        int Characters, [property: System.Text.Json.Serialization.JsonIgnore] string Status);
}
