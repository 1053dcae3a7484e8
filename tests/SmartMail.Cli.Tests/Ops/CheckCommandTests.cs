using System.Security.Cryptography;
using MailKit;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Sinks;

namespace SmartMail.Cli.Tests.Ops;

/// <summary>
/// <c>smartmail check</c> as a process against a real Dovecot, a real SMTP server and a real HTTP listener: one line per
/// item, the documented exit codes, and nothing changed — no mail moved or flagged, no folder made, nothing sent or
/// posted, the data directory byte for byte as before and no state.db created.
/// </summary>
public sealed class CheckCommandTests
{
    private static string[] Settings(string data, Dovecot dovecot, string password) =>
    [
        $"--SmartMail:DataDirectory={data}",
        $"--SmartMail:ModelPath={CliProcess.DefaultModel}",
        "--SmartMail:Mailboxes:0:Name=post",
        "--SmartMail:Mailboxes:0:Host=127.0.0.1",
        $"--SmartMail:Mailboxes:0:Port={dovecot.Port}",
        "--SmartMail:Mailboxes:0:Security=None",
        "--SmartMail:Mailboxes:0:AllowPlaintext=true",
        $"--SmartMail:Mailboxes:0:Username={dovecot.User}",
        $"--SmartMail:Mailboxes:0:Password={password}",
        "--SmartMail:Mailboxes:0:CommandTimeout=00:00:45",
    ];

    [Fact]
    public async Task Check_EveryPartReachable_AllOkExit0_NothingMovedSentPostedOrWritten()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync([RunFailureTests.Mail("Launch delayed"), RunFailureTests.Mail("Engine trouble"), RunFailureTests.Mail("Tax return")]);
        await using var smtp = await SmtpReceiver.StartAsync(ct);
        using var hook = new HttpReceiver(200);
        var data = CliProcess.TempDirectory();
        await File.WriteAllTextAsync(Path.Combine(data, "keep.txt"), "an operator's note", ct);
        var mailBefore = await dovecot.InventoryAsync();
        var foldersBefore = await FoldersAsync(dovecot);
        var dataBefore = Snapshot(data);

        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(),
        [
            "check", .. Settings(data, dovecot, dovecot.Password),
            "--SmartMail:Routes:sci.space:Kind=Folder",
            "--SmartMail:Routes:rec.autos:Kind=Webhook",
            $"--SmartMail:Routes:rec.autos:Url={hook.Url("cases")}",
            "--SmartMail:Webhook:AllowPlaintext=true",
            "--SmartMail:Routes:talk.politics.guns:Kind=Smtp",
            "--SmartMail:Routes:talk.politics.guns:Address=guns@kommune.example",
            "--SmartMail:Smtp:Host=127.0.0.1",
            $"--SmartMail:Smtp:Port={smtp.Port}",
            "--SmartMail:Smtp:Security=None",
            "--SmartMail:Smtp:AllowPlaintext=true",
            "--SmartMail:Smtp:From=smartmail@kommune.example",
        ]);

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var line in new[] { "ok    configuration:", "ok    data directory:", "ok    model:", "ok    mailbox 'post':", "ok    journal:",
                     "ok    SMTP relay:", "ok    webhook http://127.0.0.1:", "ok    web app:" })
        {
            Assert.Contains(line, result.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("3 mails waiting", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("warn  mailbox 'post' folders:", result.Stdout, StringComparison.Ordinal); // a fresh mailbox has no department folders yet
        Assert.Contains(", 0 failed", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(Describe(mailBefore), Describe(await dovecot.InventoryAsync())); // same mail, same folders, no keyword added
        Assert.Equal(foldersBefore, await FoldersAsync(dovecot)); // no destination, processed or lease folder made
        Assert.Empty(smtp.Received);
        Assert.NotEmpty(hook.Requests);
        Assert.All(hook.Requests, r => Assert.Equal("HEAD", r.Method));
        Assert.Equal(dataBefore, Snapshot(data));
        Assert.False(File.Exists(Path.Combine(data, "state.db")));
    }

    [Fact]
    public async Task Check_WrongPassword_FailLineNamesTheMailboxSettings_Exit4_NoStateWritten()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var data = CliProcess.TempDirectory();

        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), ["check", .. Settings(data, dovecot, "not-the-password")]);

        Assert.True(result.ExitCode == 4, result.ToString());
        var fail = Assert.Single(result.Stdout.Split('\n'), l => l.StartsWith("fail", StringComparison.Ordinal));
        Assert.Contains("mailbox 'post'", fail, StringComparison.Ordinal);
        Assert.Contains("SmartMail:Mailboxes:0:Username", fail, StringComparison.Ordinal);
        Assert.Contains("ok    model:", result.Stdout, StringComparison.Ordinal); // the other items are still checked
        Assert.Empty(Directory.GetFileSystemEntries(data));
    }

    [Fact]
    public async Task Check_UnreadableModel_FailLineNamesModelPath_Exit1()
    {
        var data = CliProcess.TempDirectory();
        var model = Path.Combine(data, "broken.zip");
        await File.WriteAllTextAsync(model, "not a model bundle", TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "check", $"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={model}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("fail  model: SmartMail:ModelPath:", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(["broken.zip"], Directory.GetFileSystemEntries(data).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Check_ModelPathOnlyInAppsettingsJson_ThatModelIsChecked_NotTheShippedOne()
    {
        // Before the fix the CLI put the shipped model on its command line whenever the command line named none, which
        // beat appsettings.json: check (and run) served the shipped model instead of the configured one.
        var dir = CliProcess.TempDirectory();
        var model = Path.Combine(dir, "ours.zip");
        await File.WriteAllTextAsync(model, "not a model bundle", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(dir, "appsettings.json"),
            $$"""{ "SmartMail": { "DataDirectory": "{{Path.Combine(dir, "data").Replace("\\", "/", StringComparison.Ordinal)}}", "ModelPath": "{{model.Replace("\\", "/", StringComparison.Ordinal)}}" } }""",
            TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir, "check");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"fail  model: SmartMail:ModelPath: '{model}'", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_SettingOfTheWrongType_FailLineNamesTheSetting_Exit3()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "check", "--SmartMail:MaxAttempts=many");

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("fail  configuration: SmartMail:MaxAttempts:", result.Stdout, StringComparison.Ordinal);
    }

    private static List<string> Describe(List<(string Folder, IReadOnlySet<string> Keywords, string Fingerprint)> inventory) =>
        [.. inventory.Select(m => $"{m.Folder} {string.Join(',', m.Keywords.Order(StringComparer.Ordinal))} {m.Fingerprint}").Order(StringComparer.Ordinal)];

    private static async Task<List<string>> FoldersAsync(Dovecot dovecot)
    {
        using var client = await dovecot.ClientAsync();
        var folders = await client.GetFolder(client.PersonalNamespaces[0]).GetSubfoldersAsync(true);
        await client.DisconnectAsync(true);
        return [.. folders.Select(f => f.FullName).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every file and directory under <paramref name="root"/> with its content hash.</summary>
    internal static List<string> Snapshot(string root) =>
        [.. Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => Path.GetRelativePath(root, p) + (File.Exists(p) ? " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p))) : "/"))];
}
