namespace SmartMail.Cli.Tests;

/// <summary>The verbs' parsing, help and errors: they come from System.CommandLine.</summary>
public sealed class ParsingTests
{
    [Fact]
    public async Task Train_UnknownOption_IsNamedAsUnrecognised_Exit2()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "train", "--bogus");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--bogus", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Unrecognized", result.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("needs a value", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ListsEveryVerbAndTheExitCodes()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var verb in new[] { "train", "retrain", "correct", "models", "evaluate", "classify", "run", "export-text" })
        {
            Assert.Contains(verb, result.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("Exit codes", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"3\s+configuration", result.Stdout);
        Assert.Matches(@"4\s+mail server", result.Stdout);
    }

    [Theory]
    [InlineData("train", "--target-precision")]
    [InlineData("train", "--separator")]
    [InlineData("evaluate", "--markdown")]
    [InlineData("classify", "--explain")]
    [InlineData("run", "--watch")]
    [InlineData("correct", "--new-label")]
    [InlineData("retrain", "--allow-dropping-labels")]
    [InlineData("export-text", "--out")]
    public async Task VerbHelp_NamesItsOptions(string verb, string option)
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), verb, "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Evaluate_WithoutModel_SaysTheOptionIsRequired_Exit2()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "evaluate", "--data", "x");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--model", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Train_HoldoutOutOfRange_NamesTheOption_Exit2()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "train", "--data", "x", "--out", "m.zip", "--holdout", "0.9");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--holdout", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_UnknownAction_Exit2()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "models", "delete");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("delete", result.Stderr, StringComparison.Ordinal);
    }
}
