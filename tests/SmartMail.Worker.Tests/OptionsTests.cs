using Microsoft.Extensions.Configuration;
using SmartMail.Core.Routing;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Tests;

public sealed class OptionsTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    private SmartMailOptions Valid() => new() { ModelPath = model.ModelPath };

    [Fact]
    public void Validate_Defaults_WithExistingModel_Succeeds() =>
        Assert.True(new SmartMailOptionsValidator().Validate(null, Valid()).Succeeded);

    [Fact]
    public void Validate_MissingModel_NamesTheSetting()
    {
        var options = Valid();
        options.ModelPath = "no/such/model.zip";

        var result = new SmartMailOptionsValidator().Validate(null, options);

        Assert.Contains(result.Failures!, f => f.StartsWith("SmartMail:ModelPath", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BadRulePatternAndKle_NameRuleAndRoute()
    {
        var options = Valid();
        options.Rules.Add(new RoutingRule { Name = "skat", Label = "skat", Subject = "([" });
        options.Routes["skat"] = new RouteOptions { Kle = "twenty" };
        options.MaxAttempts = 0;

        var failures = new SmartMailOptionsValidator().Validate(null, options).Failures!.ToList();

        Assert.Contains(failures, f => f.Contains("Rules:0 ('skat')", StringComparison.Ordinal) && f.Contains("Subject", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Routes:skat:Kle", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:MaxAttempts", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LeaseShorterThanTwoCommandTimeouts_NamesTheSetting_UnlessTheLeaseIsOff()
    {
        var options = Valid();
        var mailbox = new Imap.ImapMailboxOptions { Name = "post", Host = "imap.example", Username = "u", Password = "p" };
        mailbox.CommandTimeout = TimeSpan.FromSeconds(60);
        mailbox.LeaseDuration = TimeSpan.FromSeconds(90);
        options.Mailboxes.Add(mailbox);

        var failures = new SmartMailOptionsValidator().Validate(null, options).Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Mailboxes:0:LeaseDuration", StringComparison.Ordinal));

        mailbox.UseLease = false;
        Assert.True(new SmartMailOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Host_InvalidConfiguration_FailsAtStartupNamingTheSetting()
    {
        using var host = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=missing.zip", "--SmartMail:DataDirectory=" + Path.GetTempPath()], watch: false).Build();

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.Extensions.Options.IOptions<SmartMailOptions>>(host.Services).Value);

        Assert.Contains("SmartMail:ModelPath", ex.Message);
    }
}

public sealed class SampleConfigurationTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    [Fact]
    public void DocumentedSample_BindsAndValidates_ExceptForTheFilesItNames()
    {
        var path = Path.Combine(model.RepositoryRoot, "docs", "samples", "appsettings.two-mailboxes.json");
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddJsonFile(path).Build();
        var options = new SmartMailOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(configuration.GetSection(SmartMailOptions.SectionName), options);

        var failures = new SmartMailOptionsValidator().Validate(null, options).Failures ?? [];

        Assert.Equal(2, options.Mailboxes.Count);
        Assert.Equal("Smtp", options.Routes["skat"].Kind);
        Assert.Equal(new Uri("https://esdh.kommune.example/api/smartmail"), options.Routes["skole"].Url);
        // Only the machine-specific files are missing here: model, password files, CA.
        Assert.All(failures, f => Assert.Matches(@"ModelPath|PasswordFile|CaCertificateFile", f));
        Assert.Equal(4, failures.Count());
    }
}
