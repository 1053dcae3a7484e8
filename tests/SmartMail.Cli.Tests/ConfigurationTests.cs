namespace SmartMail.Cli.Tests;

/// <summary>Wrong configuration stops the program at start-up with the setting's path and exit code 3.</summary>
public sealed class ConfigurationTests
{
    private const int ConfigurationExit = 3;

    private static async Task<CliProcess.Result> RunAsync(params string[] settings)
    {
        var dir = CliProcess.TempDirectory();
        return await CliProcess.RunAsync(dir,
            ["run", $"--SmartMail:DataDirectory={Path.Combine(dir, "data")}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}", .. settings]);
    }

    private static void AssertConfigurationError(CliProcess.Result result, string setting)
    {
        Assert.True(result.ExitCode == ConfigurationExit, result.ToString());
        Assert.Contains(result.ErrorLines, l => l.StartsWith("smartmail: configuration error:", StringComparison.Ordinal) && l.Contains(setting, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MisspeltKey_FailsNamingIt()
    {
        var result = await RunAsync("--SmartMail:MaxAttemps=5");

        AssertConfigurationError(result, "SmartMail:MaxAttemps");
    }

    [Fact]
    public async Task Run_MisspeltKeyInAMailbox_FailsNamingItsPath()
    {
        var result = await RunAsync("--SmartMail:Mailboxes:0:Name=post", "--SmartMail:Mailboxes:0:Host=127.0.0.1",
            "--SmartMail:Mailboxes:0:Username=u", "--SmartMail:Mailboxes:0:Password=p", "--SmartMail:Mailboxes:0:Prot=143");

        AssertConfigurationError(result, "SmartMail:Mailboxes:0:Prot");
    }

    [Fact]
    public async Task Run_PortNotANumber_FailsNamingTheSetting()
    {
        var result = await RunAsync("--SmartMail:Mailboxes:0:Name=post", "--SmartMail:Mailboxes:0:Host=127.0.0.1",
            "--SmartMail:Mailboxes:0:Username=u", "--SmartMail:Mailboxes:0:Password=p", "--SmartMail:Mailboxes:0:Port=abc");

        AssertConfigurationError(result, "SmartMail:Mailboxes:0:Port");
    }

    [Fact]
    public async Task Run_PortNotANumberInAppsettings_FailsNamingTheSetting()
    {
        var dir = CliProcess.TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(dir, "appsettings.json"), $$"""
            { "SmartMail": { "ModelPath": {{System.Text.Json.JsonSerializer.Serialize(CliProcess.DefaultModel)}},
              "Mailboxes": [ { "Name": "post", "Host": "127.0.0.1", "Port": "abc", "Username": "u", "Password": "p" } ] } }
            """, TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir, "run");

        AssertConfigurationError(result, "SmartMail:Mailboxes:0:Port");
    }

    [Fact]
    public async Task Run_InvalidValue_FailsNamingTheSetting()
    {
        var result = await RunAsync("--SmartMail:MaxAttempts=0");

        AssertConfigurationError(result, "SmartMail:MaxAttempts");
    }
}
