using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Tests.Sinks;

public sealed class SinkOptionsValidationTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    private SmartMailOptions Valid() => new() { ModelPath = model.ModelPath };

    [Fact]
    public void Validate_PlainHttpWebhookWithoutOptIn_NamesTheRouteAndTheSetting()
    {
        var options = Valid();
        options.Routes["sci.space"] = new RouteOptions { Kind = RouteKind.Webhook, Url = new Uri("http://esdh.example/hook") };

        var failures = new SmartMailOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

        var failure = Assert.Single(failures);
        Assert.StartsWith("SmartMail:Routes:sci.space:Url:", failure, StringComparison.Ordinal);
        Assert.Contains("SmartMail:Webhook:AllowPlaintext", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PlainHttpWebhookWithOptIn_OrHttps_Succeeds()
    {
        var options = Valid();
        options.Routes["sci.space"] = new RouteOptions { Kind = RouteKind.Webhook, Url = new Uri("http://127.0.0.1:8080/hook") };
        options.Webhook.AllowPlaintext = true;
        var https = Valid();
        https.Routes["sci.space"] = new RouteOptions { Kind = RouteKind.Webhook, Url = new Uri("https://esdh.example/hook") };

        Assert.True(new SmartMailOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new SmartMailOptionsValidator().Validate(null, https).Succeeded);
    }

    [Fact]
    public void Host_PlainHttpWebhookWithoutOptIn_FailsAtStartupNamingTheSetting()
    {
        using var host = WorkerHost.CreateBuilder([
            "--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-options-").FullName /* private: a world-readable one is refused */,
            "--SmartMail:Routes:sci.space:Kind=Webhook", "--SmartMail:Routes:sci.space:Url=http://esdh.example/hook"], watch: false).Build();

        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<SmartMailOptions>>().Value);

        Assert.Contains("SmartMail:Webhook:AllowPlaintext", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SmtpPlaintextWithoutOptIn_AndMissingCa_NameTheSettings()
    {
        var options = Valid();
        options.Smtp = new SmtpForwardOptions
        {
            Host = "relay.example", Security = SmtpForwardSecurity.None, From = "smartmail@kommune.example",
            CaCertificateFile = Path.Combine(Path.GetTempPath(), "no-such-ca-" + Guid.NewGuid().ToString("N") + ".pem"),
        };

        var failures = new SmartMailOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

        Assert.Contains(failures, f => f.StartsWith("SmartMail:Smtp:Security:", StringComparison.Ordinal) && f.Contains("SmartMail:Smtp:AllowPlaintext", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Smtp:CaCertificateFile:", StringComparison.Ordinal));
        Assert.Equal(2, failures.Count);
    }
}
