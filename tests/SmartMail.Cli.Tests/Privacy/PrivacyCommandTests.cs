using System.IO.Compression;

namespace SmartMail.Cli.Tests.Privacy;

/// <summary>
/// <c>smartmail privacy find|export|erase|retention</c> and <c>compliance report</c> as an operator runs them, after a real
/// <c>run</c> over a drop folder: the CPR number asked for never appears in the output, bad input is one line naming the option.
/// </summary>
public sealed class PrivacyCommandTests
{
    private const string Person = """
        From: Jens Testesen <jens.testesen@borger.example>
        To: post@kommune.example
        Subject: Ansøgning, CPR 31.12.754321
        Message-ID: <cli-person@borger.example>
        Content-Type: text/plain; charset=utf-8

        Kamilla skal starte i vuggestuen Solsikken.
        """;

    [Fact]
    public async Task FindExportEraseRetentionCompliance_AfterARun_WorkWithoutPrintingTheCpr()
    {
        var dir = CliProcess.TempDirectory();
        var inbox = Directory.CreateDirectory(Path.Combine(dir, "inbox")).FullName;
        File.WriteAllText(Path.Combine(inbox, "person.eml"), Person.Replace("\n", "\r\n", StringComparison.Ordinal));
        File.Copy(CliProcess.EnglishSample("01-shuttle-launch.eml"), Path.Combine(inbox, "other.eml"));
        string[] settings = [$"--SmartMail:DataDirectory={Path.Combine(dir, "data")}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}", $"--SmartMail:Inbox={inbox}"];
        var run = await CliProcess.RunAsync(dir, ["run", .. settings]);
        Assert.True(run.ExitCode == 0, run.ToString());

        var find = await CliProcess.RunAsync(dir, ["privacy", "find", "--cpr", "311275-4321", .. settings]);
        var json = await CliProcess.RunAsync(dir, ["privacy", "find", "--address", "Jens.Testesen@borger.example", "--json", .. settings]);
        var zip = Path.Combine(dir, "export.zip");
        var export = await CliProcess.RunAsync(dir, ["privacy", "export", "--cpr", "3112754321", "--out", zip, .. settings]);
        var dryRun = await CliProcess.RunAsync(dir, ["privacy", "erase", "--cpr", "311275-4321", "--dry-run", .. settings]);
        var erase = await CliProcess.RunAsync(dir, ["privacy", "erase", "--cpr", "311275-4321", "--yes", "--by", "dpo", .. settings]);
        var after = await CliProcess.RunAsync(dir, ["privacy", "find", "--cpr", "311275-4321", .. settings]);
        var retention = await CliProcess.RunAsync(dir, ["privacy", "retention", .. settings]);
        var compliance = await CliProcess.RunAsync(dir, ["compliance", "report", "--out", Path.Combine(dir, "report"), .. settings]);

        foreach (var result in new[] { find, json, export, dryRun, erase, after, retention, compliance })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain("4321", result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
        Assert.StartsWith("CPR [CPR] (keyed hash ", find.Stdout, StringComparison.Ordinal);
        Assert.Contains(": 1 mails in ", find.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"kind\": \"journal-mail\"", json.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("jens.testesen@", json.Stdout, StringComparison.Ordinal);
        using (var package = ZipFile.OpenRead(zip))
        {
            Assert.Contains(package.Entries, e => e.FullName.StartsWith("mails/", StringComparison.Ordinal) && e.FullName.EndsWith(".eml", StringComparison.Ordinal));
            Assert.Contains(package.Entries, e => e.FullName.StartsWith("decisions/", StringComparison.Ordinal));
            Assert.Contains(package.Entries, e => e.FullName == "README.txt");
        }
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(zip));
        }
        Assert.Contains("Would erase 1 mails", dryRun.Stdout, StringComparison.Ordinal);
        Assert.Contains("Erased 1 mails", erase.Stdout, StringComparison.Ordinal);
        Assert.Contains(": 0 mails in ", after.Stdout, StringComparison.Ordinal);
        Assert.Contains("RetentionDays = 365", retention.Stdout, StringComparison.Ordinal);
        Assert.Contains("Record of processing (GDPR art. 30)", File.ReadAllText(Path.Combine(dir, "report", "compliance-report.md")), StringComparison.Ordinal);
        Assert.Contains("<table>", File.ReadAllText(Path.Combine(dir, "report", "compliance-report.html")), StringComparison.Ordinal);
        using var state = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "data", "state.db")};Pooling=false");
        state.Open();
        using var audit = state.CreateCommand();
        audit.CommandText = "SELECT by_whom || ': ' || reason FROM audit WHERE outcome = 'privacy-erase'";
        var row = Assert.IsType<string>(audit.ExecuteScalar());
        Assert.StartsWith("dpo: privacy erasure ", row, StringComparison.Ordinal);
        Assert.Contains("1 mails", row, StringComparison.Ordinal);
        Assert.DoesNotContain("4321", row, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--cpr", "not-a-cpr", "--cpr: not a CPR number")]
    [InlineData("--address", "nobody", "--address: not an e-mail address")]
    public async Task Find_BadValue_OneLineNamingTheOption_WithoutTheValue(string option, string value, string expected)
    {
        var dir = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(dir, "privacy", "find", option, value, $"--SmartMail:DataDirectory={Path.Combine(dir, "data")}");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("smartmail: " + expected, result.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Find_TwoWaysToNameThePerson_IsAUsageError()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "privacy", "find", "--cpr", "311275-4321", "--name", "Jens");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("exactly one of --cpr, --address, --name", result.Stderr, StringComparison.Ordinal);
    }
}
