using System.CommandLine;
using System.Text;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail export-text</c>: writes the text SmartMail extracts (label, tab, subject and body on one line) so other
/// tools can be compared on exactly the same input.
/// </summary>
internal static class ExportTextCommand
{
    public static Command Create()
    {
        var command = new Command("export-text", "Writes the extracted text (label<TAB>subject body, one document a line), to compare other tools on it.");
        var data = DataArgs.AddTo(command);
        var output = new Option<string>("--out") { Description = "The TSV file to write.", Required = true, HelpName = "FILE.tsv" };
        command.Options.Add(output);
        command.SetAction((parse, cancellationToken) =>
        {
            var set = data.Load(parse, cancellationToken);
            var path = parse.GetRequiredValue(output);
            using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            foreach (var d in set.Documents)
            {
                writer.Write(OneLine(d.Label));
                writer.Write('\t');
                writer.Write(OneLine(d.Text.Subject));
                writer.Write(' ');
                writer.WriteLine(OneLine(d.Text.Body));
            }
            Console.WriteLine($"Wrote {set.Documents.Count} documents to {path}.");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static string OneLine(string text) => text.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');
}
