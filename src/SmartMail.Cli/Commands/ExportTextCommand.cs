using System.Text;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail export-text</c>: writes the text SmartMail extracts (label, tab, subject and body on one line) so other
/// tools can be compared on exactly the same input.
/// </summary>
internal static class ExportTextCommand
{
    public static int Run(string[] argv, CancellationToken cancellationToken)
    {
        var args = CliArgs.Parse(argv, "help");
        if (args.Flag("help"))
        {
            Console.WriteLine("smartmail export-text --data DIR | --csv FILE --out FILE.tsv   (label<TAB>subject body, one document a line)");
            return 0;
        }
        var output = args.Required("out");
        var set = DataArgs.Load(args, cancellationToken);
        args.EnsureAllUsed();
        using var writer = new StreamWriter(output, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        foreach (var d in set.Documents)
        {
            writer.Write(OneLine(d.Label));
            writer.Write('\t');
            writer.Write(OneLine(d.Text.Subject));
            writer.Write(' ');
            writer.WriteLine(OneLine(d.Text.Body));
        }
        Console.WriteLine($"Wrote {set.Documents.Count} documents to {output}.");
        return 0;
    }

    private static string OneLine(string text) => text.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');
}
