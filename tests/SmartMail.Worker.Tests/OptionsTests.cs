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
    public void Validate_AttributeRuleInAMailbox_NamesTheSettingPath()
    {
        var options = Valid();
        options.Mailboxes.Add(new Imap.ImapMailboxOptions { Name = "post", Host = "imap.example", Username = "u", Password = "p", Port = 70000 });
        options.Learning.TargetPrecision = 2;

        var failures = new SmartMailOptionsValidator().Validate(null, options).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("SmartMail:Mailboxes:0:Port: ", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("SmartMail:Learning:TargetPrecision: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--SmartMail:MaxAttemps=5", "SmartMail:MaxAttemps")]
    [InlineData("--SmartMail:Mailboxes:0:Prot=143", "SmartMail:Mailboxes:0:Prot")]
    [InlineData("--SmartMail:Learning:RetainDays=30", "SmartMail:Learning:RetainDays")]
    [InlineData("--SmartMail:Routes:skat:Adress=skat@kommune.example", "SmartMail:Routes:skat:Adress")]
    [InlineData("--SmartMail:Mailboxes:0:Port=abc", "SmartMail:Mailboxes:0:Port")]
    [InlineData("--SmartMail:Mailboxes:0:UseIdle=sometimes", "SmartMail:Mailboxes:0:UseIdle")]
    public void Host_UnknownOrUnconvertibleSetting_FailsAtStartupNamingItsPath(string setting, string path)
    {
        using var host = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-options-").FullName /* private: a world-readable one is refused */,
            "--SmartMail:Mailboxes:0:Name=post", "--SmartMail:Mailboxes:0:Host=imap.example", "--SmartMail:Mailboxes:0:Username=u",
            "--SmartMail:Mailboxes:0:Password=p", setting], watch: false).Build();

        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.Extensions.Options.IOptions<SmartMailOptions>>(host.Services).Value);

        var failure = Assert.Single(ex.Failures);
        Assert.StartsWith(path + ":", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_KnownSettingsInAnyCase_AreAccepted()
    {
        using var host = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-options-").FullName /* private: a world-readable one is refused */,
            "--smartmail:maxattempts=5", "--SmartMail:Learning:CorrectionFolders:0=Skat", "--SmartMail:Routes:skat:Kle=02.34"], watch: false).Build();

        var options = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Microsoft.Extensions.Options.IOptions<SmartMailOptions>>(host.Services).Value;

        Assert.Equal(5, options.MaxAttempts);
    }

    [Fact]
    public void Host_InvalidConfiguration_FailsAtStartupNamingTheSetting()
    {
        using var host = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=missing.zip", "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-options-").FullName /* private: a world-readable one is refused */], watch: false).Build();

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
        Assert.Equal(RouteKind.Smtp, options.Routes["skat"].Kind);
        Assert.Equal(new Uri("https://esdh.kommune.example/api/smartmail"), options.Routes["skole"].Url);
        // Only the machine-specific files are missing here: model, password files, CA.
        Assert.All(failures, f => Assert.Matches(@"ModelPath|PasswordFile|CaCertificateFile", f));
        Assert.Equal(4, failures.Count());
    }
}
