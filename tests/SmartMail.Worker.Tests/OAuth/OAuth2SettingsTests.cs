using System.Reflection;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>OAuth2 settings checked at start-up, and the log event IT alerts on.</summary>
public sealed class OAuth2SettingsTests
{
    [Fact]
    public void Binding_ScopesAsAString_IsAnErrorNamingTheSetting()
    {
        var json = """{ "SmartMail": { "Mailboxes": [ { "Name": "post", "OAuth2": { "Scopes": "imap" } } ] } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

        var problems = SettingsBindingValidator.Problems(configuration.GetSection(SmartMailOptions.SectionName), typeof(SmartMailOptions)).ToList();

        var problem = Assert.Single(problems);
        Assert.StartsWith("SmartMail:Mailboxes:0:OAuth2:Scopes:", problem, StringComparison.Ordinal);
        Assert.Contains("[\"imap\"]", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Binding_ScopesAsAList_IsFine()
    {
        var json = """{ "SmartMail": { "Mailboxes": [ { "Name": "post", "OAuth2": { "Scopes": [ "imap" ] } } ] } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

        var problems = SettingsBindingValidator.Problems(configuration.GetSection(SmartMailOptions.SectionName), typeof(SmartMailOptions));

        Assert.Empty(problems);
    }

    [Fact]
    public void Validation_SecurityNone_WithOAuth2_SaysTheTokenGoesInClearText_NotThePassword()
    {
        var mailbox = new ImapMailboxOptions
        {
            Name = "post", Host = "imap.kommune.example", Username = "post@kommune.example", Security = "None", Authentication = "OAuth2",
            OAuth2 = new Auth.OAuth2Options { Authority = new Uri("https://op.kommune.example"), ClientId = "smartmail", ClientSecret = "x" },
        };

        var failures = new SmartMailOptionsValidator().Validate(null, new SmartMailOptions { Mailboxes = [mailbox] }).Failures ?? [];

        var security = Assert.Single(failures, f => f.StartsWith("SmartMail:Mailboxes:0:Security", StringComparison.Ordinal));
        Assert.Contains("access token", security, StringComparison.Ordinal);
        Assert.DoesNotContain("password", security, StringComparison.Ordinal);
    }

    [Fact]
    public void EventIds_2111_IsOnlyTheCriticalSignInRefusal()
    {
        var uses = typeof(ImapWorker).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is { EventId: 2111 })
            .ToList();

        var only = Assert.Single(uses);
        Assert.Equal(LogLevel.Critical, only!.Level);
    }

    [Fact]
    public void RefusalHints_NameExchangePowerShell_OnlyForEntraId()
    {
        var entra = Auth.MailSignIn.ImapRefusal("OAuth2", "post@kommune.dk", "XOAUTH2", entraId: true);
        var other = Auth.MailSignIn.SmtpRefusal("SmartMail:Smtp:OAuth2", "post@kommune.dk", "XOAUTH2", entraId: false);

        Assert.Contains("New-ServicePrincipal", entra, StringComparison.Ordinal);
        Assert.DoesNotContain("New-ServicePrincipal", other, StringComparison.Ordinal);
        Assert.DoesNotContain("Exchange", other, StringComparison.Ordinal);
        Assert.Contains("Username", other, StringComparison.Ordinal);
    }
}
