using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartMail.Worker;
using SmartMail.Worker.Options;

namespace SmartMail.Web.Tests;

/// <summary>The app refuses unsafe settings at start, naming the setting.</summary>
public sealed class StartupTests
{
    [Theory]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://*:5080")]
    [InlineData("http://192.0.2.10:5080")]
    [InlineData("https://smartmail.kommune.dk:443")]
    public void Create_BeyondLoopbackWithoutOidc_Throws_NamingTheSetting(string url)
    {
        var options = new WebOptions { Url = url, BehindProxy = true };
        var backend = new FakeBackend();

        var ex = Assert.Throws<InvalidOperationException>(() => WebApp.Create(options, new WebAppContext(backend, backend, NullLoggerFactory.Instance)));

        Assert.Contains("SmartMail:Web:Oidc:Authority: The app refuses to listen beyond loopback without sign-in", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BeyondLoopbackOnHttp_WithoutProxy_NamesTheUrl()
    {
        var options = new WebOptions
        {
            Url = "http://0.0.0.0:5080",
            Oidc = { Authority = new Uri("https://login.example/tenant/v2.0"), ClientId = "app", ClientSecret = "s" },
        };

        var failures = options.Validate("SmartMail:Web").ToList();

        Assert.Equal("SmartMail:Web:Url", Assert.Single(failures).Split(':', 4) is var p ? $"{p[0]}:{p[1]}:{p[2]}" : "");
        options.BehindProxy = true;
        Assert.Empty(options.Validate("SmartMail:Web"));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080")]
    [InlineData("http://localhost:5080")]
    [InlineData("http://[::1]:5080")]
    public void Validate_LoopbackWithoutOidc_IsFine(string url) =>
        Assert.Empty(new WebOptions { Url = url }.Validate("SmartMail:Web"));

    [Theory]
    [InlineData("127.0.0.1:5080")]
    [InlineData("ftp://127.0.0.1:5080")]
    [InlineData("http://127.0.0.1:5080/app")]
    public void Validate_NotAnAddress_NamesTheUrl(string url) =>
        Assert.StartsWith("SmartMail:Web:Url:", Assert.Single(new WebOptions { Url = url }.Validate("SmartMail:Web")), StringComparison.Ordinal);

    [Fact]
    public void Validate_OidcWithoutClient_NamesEachSetting()
    {
        var failures = new WebOptions { Oidc = { Authority = new Uri("http://login.example/") } }.Validate("SmartMail:Web").ToList();

        Assert.Contains(failures, f => f.StartsWith("SmartMail:Web:Oidc:Authority: must be an https:// issuer", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Web:Oidc:ClientId:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Web:Oidc:ClientSecretFile:", StringComparison.Ordinal));
    }

    [Fact]
    public void Worker_BeyondLoopbackWithoutOidc_FailsAtStart_NamingTheSetting()
    {
        var data = Directory.CreateTempSubdirectory("smartmail-web-").FullName;
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:DataDirectory={data}", "--SmartMail:Web:Url=http://0.0.0.0:5080"], watch: true).Build();

        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<SmartMailOptions>>().Value);

        Assert.Contains(ex.Failures, f => f.StartsWith("SmartMail:Web:Oidc:Authority: The app refuses to listen beyond loopback without sign-in", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.StartsWith("SmartMail:Web:Url:", StringComparison.Ordinal));
    }

    [Fact]
    public void Worker_WebSettings_BindFromConfiguration()
    {
        var data = Directory.CreateTempSubdirectory("smartmail-web-").FullName;
        var model = Path.Combine(data, "model.zip");
        File.WriteAllText(model, "not read here");
        using var host = WorkerHost.CreateBuilder([$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={model}", "--SmartMail:Web:Oidc:MailboxRoles:Borgerservice:0=A",
            "--SmartMail:Web:Oidc:MailboxRoles:Borgerservice:1=B", "--SmartMail:Web:Enabled=false"], watch: true).Build();

        var options = host.Services.GetRequiredService<SmartMailOptions>();

        Assert.False(options.Web.Enabled);
        Assert.Equal(["A", "B"], options.Web.Oidc.MailboxRoles["Borgerservice"]);
        Assert.Null(host.Services.GetService<SmartMail.Worker.WebHosting.WebHostService>());
    }
}
