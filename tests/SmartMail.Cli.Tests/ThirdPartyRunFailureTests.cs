using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.OAuth;

namespace SmartMail.Cli.Tests;

/// <summary>
/// One-shot <c>smartmail run</c> signing in at a third-party OpenID provider (npm's oidc-provider over HTTPS, per-run CA)
/// to a real Dovecot that checks tokens through it: each refusal is one line naming the party at fault and the setting, the
/// documented exit code 4, no stack trace.
/// </summary>
public sealed class ThirdPartyRunFailureTests
{
    private const int MailServerExit = 4;

    [Fact]
    public async Task Run_ProviderCaNotTrusted_OneLineNamingTheChainErrorAndCaCertificateFile_Exit4()
    {
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10));
        var (dovecot, provider) = (rig.Dovecot, rig.Provider);
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(data, Run(dovecot, provider, data, provider.ClientsFor[dovecot.User].SecretFile, trustCa: false));

        var line = AssertOneLine(result);
        Assert.Contains("SmartMail:Mailboxes:0:OAuth2:CaCertificateFile", line, StringComparison.Ordinal);
        Assert.Contains("PartialChain", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ProviderDown_OneLineNamingTheAuthority_NotTheImapHost_Exit4()
    {
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10));
        var (dovecot, provider) = (rig.Dovecot, rig.Provider);
        await provider.StopAsync();
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(data, Run(dovecot, provider, data, provider.ClientsFor[dovecot.User].SecretFile, trustCa: true));

        var line = AssertOneLine(result);
        Assert.Contains("SmartMail:Mailboxes:0:OAuth2:Authority", line, StringComparison.Ordinal);
        Assert.Contains(provider.Issuer.Authority, line, StringComparison.Ordinal);
        Assert.DoesNotContain($"127.0.0.1:{dovecot.Port}", line, StringComparison.Ordinal);
        Assert.DoesNotContain("SmartMail:Mailboxes:0:Host", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WrongSecret_OneLineNamingTheMailboxOnceAndTheSecretSetting_Exit4()
    {
        await using var rig = await ThirdPartyRig.StartAsync(TimeSpan.FromMinutes(10));
        var (dovecot, provider) = (rig.Dovecot, rig.Provider);
        var data = CliProcess.TempDirectory();
        var wrong = Path.Combine(data, "wrong.secret");
        await File.WriteAllTextAsync(wrong, "not-the-secret", TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(data, Run(dovecot, provider, data, wrong, trustCa: true));

        var line = AssertOneLine(result);
        Assert.Equal(1, (line.Length - line.Replace("'post'", "", StringComparison.Ordinal).Length) / "'post'".Length);
        Assert.Contains("SmartMail:Mailboxes:0:OAuth2:ClientSecretFile", line, StringComparison.Ordinal);
        Assert.Contains("invalid_client", line, StringComparison.Ordinal);
    }

    private static string[] Run(Dovecot dovecot, ThirdPartyOidcProvider provider, string data, string secretFile, bool trustCa) =>
    [
        "run",
        $"--SmartMail:DataDirectory={data}",
        $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
        "--SmartMail:Mailboxes:0:Name=post",
        "--SmartMail:Mailboxes:0:Host=127.0.0.1",
        $"--SmartMail:Mailboxes:0:Port={dovecot.Port}",
        "--SmartMail:Mailboxes:0:Security=None",
        "--SmartMail:Mailboxes:0:AllowPlaintext=true",
        $"--SmartMail:Mailboxes:0:Username={dovecot.User}",
        "--SmartMail:Mailboxes:0:Authentication=OAuth2",
        "--SmartMail:Mailboxes:0:CommandTimeout=00:00:30",
        $"--SmartMail:Mailboxes:0:OAuth2:Authority={provider.Issuer}",
        $"--SmartMail:Mailboxes:0:OAuth2:ClientId={provider.ClientsFor[dovecot.User].SecretClientId}",
        $"--SmartMail:Mailboxes:0:OAuth2:ClientSecretFile={secretFile}",
        "--SmartMail:Mailboxes:0:OAuth2:Scopes:0=imap",
        .. trustCa ? [$"--SmartMail:Mailboxes:0:OAuth2:CaCertificateFile={provider.CaFile}"] : Array.Empty<string>(),
    ];

    private static string AssertOneLine(CliProcess.Result result)
    {
        Assert.True(result.ExitCode == MailServerExit, result.ToString());
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("smartmail: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        return line;
    }
}
