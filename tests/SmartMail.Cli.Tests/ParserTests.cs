namespace SmartMail.Cli.Tests;

/// <summary>The command tree in-process: every documented command line parses; errors go to the writer given.</summary>
public sealed class ParserTests
{
    [Theory]
    [InlineData("train --data ./history --out models/kommune.zip --target-precision 0.95")]
    [InlineData("train --csv export.csv --text-column tekst --label-column afdeling --out models/kommune.zip --separator ;")]
    [InlineData("train --imap --mailbox postkasse --folders Skat,Byg --max-per-folder 50 --out first.zip")]
    [InlineData("train --data d --out o.zip --holdout 0 --seed 7 --min-examples 5 --no-refit")]
    [InlineData("evaluate --model models/kommune.zip --data ./last-month --markdown report.md --json - --threads 2")]
    [InlineData("classify --model models/kommune.zip --explain --json some.eml other.eml")]
    [InlineData("correct 3f2a9c81d0e4 Teknik --by j.jensen")]
    [InlineData("correct 3f2a9c81d0e4 Klima --new-label")]
    [InlineData("retrain --data ./history --dry-run --shuffle-labels --allow-dropping-labels --target-precision 0.9 --min-compare 5 --confirm-after-hours 1")]
    [InlineData("models list")]
    [InlineData("models promote 20261125-101500-ab12cd34 --reason x")]
    [InlineData("models rollback")]
    [InlineData("run --watch")]
    [InlineData("export-text --csv x.csv --out y.tsv")]
    public void Parse_DocumentedCommandLine_HasNoErrors(string commandLine)
    {
        var parse = SmartMailCli.Build([]).Parse(commandLine.Split(' '));

        Assert.Empty(parse.Errors);
    }

    [Fact]
    public async Task InvokeAsync_UnknownOption_OneErrorNamingItAndTheHelp_Exit2()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await SmartMailCli.InvokeAsync(["evaluate", "--model", "m.zip", "--data", "d", "--bogus"], output, error, TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("Unrecognized command or argument '--bogus'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("smartmail evaluate --help", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_SettingsForAVerbWithoutThem_AreRefused()
    {
        using var error = new StringWriter();

        var code = await SmartMailCli.InvokeAsync(["classify", "--SmartMail:ModelPath=x.zip", "a.eml"], null, error, TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--SmartMail:ModelPath=x.zip", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeAsync_Help_PrintsTheExitCodesToTheWriterGiven()
    {
        using var output = new StringWriter();

        var code = await SmartMailCli.InvokeAsync(["--help"], output, null, TestContext.Current.CancellationToken);

        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains(ExitCodes.Table.Split('\n')[1].Trim(), output.ToString(), StringComparison.Ordinal);
    }
}
