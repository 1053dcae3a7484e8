using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Tests.Security;

/// <summary>
/// Issue 24, findings 1 and 9 (Linux): the data directory holds raw mail, the ledger and the keys that sign the web app's
/// cookies. SmartMail creates it 0700 and its files 0600 whatever the umask, refuses to start on one that others can
/// read (one line naming <c>SmartMail:DataDirectory</c>), and keeps the web app's keys private: 0600 files, encrypted
/// with a certificate when one is configured.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // Unix modes; the Windows side is DPAPI and the documented ACLs
public sealed class DataDirectoryPermissionsTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("smartmail-perm-");

    [Fact]
    public async Task EmbeddedDefault_CreatesTheDataDirectory0700_AndItsFiles0600()
    {
        var data = Path.Combine(_root.FullName, ".smartmail");
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:ModelPath={model.ModelPath}", $"--SmartMail:DataDirectory={data}",
            "--SmartMail:Web:Url=http://127.0.0.1:0"], watch: true).Build();
        _ = host.Services.GetRequiredService<SmartMailOptions>(); // as `smartmail run` does before it seeds the inbox
        Directory.CreateDirectory(Path.Combine(data, "inbox"));
        await File.WriteAllTextAsync(Path.Combine(data, "inbox", "one.eml"), Mails.Space(1), TestContext.Current.CancellationToken);

        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var journal = Path.Combine(data, "journal");
            for (var waited = 0; waited < 600 && !(Directory.Exists(journal) && Directory.EnumerateFiles(journal, "*.eml", SearchOption.AllDirectories).Any()); waited++)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        Assert.Equal(PrivateDirectory, File.GetUnixFileMode(data));
        foreach (var file in new[] { "state.db", "audit.jsonl", "smartmail.lock" })
        {
            Assert.Equal((file, Private), (file, File.GetUnixFileMode(Path.Combine(data, file))));
        }
        var keys = Directory.GetFiles(Path.Combine(data, "web-keys"), "*.xml");
        Assert.NotEmpty(keys);
        Assert.All(keys, k => Assert.Equal(Private, File.GetUnixFileMode(k)));
    }

    [Fact]
    public void Start_DataDirectoryOthersCanRead_FailsWithOneLineNamingTheSetting()
    {
        var data = Directory.CreateDirectory(Path.Combine(_root.FullName, "open")).FullName;
        File.SetUnixFileMode(data, PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:ModelPath={model.ModelPath}", $"--SmartMail:DataDirectory={data}"], watch: false).Build();

        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<SmartMailOptions>());

        var failure = Assert.Single(ex.Failures, f => f.StartsWith("SmartMail:DataDirectory:", StringComparison.Ordinal));
        Assert.Contains("chmod 700", failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public async Task WebKeys_WithACertificate_AreEncryptedAtRest()
    {
        var data = Path.Combine(_root.FullName, "data");
        var certificate = Path.Combine(_root.FullName, "keys.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=SmartMail web keys", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllBytesAsync(certificate, cert.Export(X509ContentType.Pkcs12), TestContext.Current.CancellationToken);
        }
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:ModelPath={model.ModelPath}", $"--SmartMail:DataDirectory={data}",
            "--SmartMail:Web:Url=http://127.0.0.1:0", $"--SmartMail:Web:KeysCertificateFile={certificate}"], watch: true).Build();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.StopAsync(CancellationToken.None);

        var key = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(Path.Combine(data, "web-keys"), "*.xml")), TestContext.Current.CancellationToken);
        Assert.Contains("EncryptedXml", key, StringComparison.Ordinal);
        Assert.DoesNotContain("<masterKey", key, StringComparison.Ordinal);
    }

    public void Dispose() => _root.Delete(recursive: true);
}
