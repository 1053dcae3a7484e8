using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SmartMail.Core.Routing;

namespace SmartMail.Worker.Options;

/// <summary>
/// Validates <see cref="SmartMailOptions"/> at start-up; every message starts with the setting's path
/// (<c>SmartMail:Mailboxes:0:Port: ...</c>). The attribute rules come from the generated
/// <see cref="SmartMailOptionsAttributeValidator"/>; the rules that relate settings to each other or to files are here:
/// add one as a few lines in <see cref="Validate"/>.
/// </summary>
public sealed partial class SmartMailOptionsValidator : IValidateOptions<SmartMailOptions>
{
    private static readonly SmartMailOptionsAttributeValidator Attributes = new();

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SmartMailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        AttributeRules(options, failures);
        foreach (var (label, route) in options.Routes)
        {
            var prefix = $"{SmartMailOptions.SectionName}:Routes:{label}";
            Annotations(route, prefix, failures);
            if (route.Kind == RouteKind.Smtp && string.IsNullOrWhiteSpace(route.Address))
            {
                failures.Add($"{prefix}:Address: an Smtp route needs the department's address.");
            }
            if (route.Kind == RouteKind.Smtp && options.Smtp is null)
            {
                failures.Add($"{SmartMailOptions.SectionName}:Smtp: route '{label}' forwards by SMTP, but no SMTP relay is configured.");
            }
            if (route.Kind == RouteKind.Webhook && route.Url is not { IsAbsoluteUri: true, Scheme: "http" or "https" })
            {
                failures.Add($"{prefix}:Url: a Webhook route needs an absolute http(s) URL.");
            }
        }
        for (var i = 0; i < options.Mailboxes.Count; i++)
        {
            var mailbox = options.Mailboxes[i];
            var prefix = $"{SmartMailOptions.SectionName}:Mailboxes:{i}";
            if (mailbox.Security == "None" && !mailbox.AllowPlaintext)
            {
                var secret = mailbox.UsesOAuth2 ? "the access token" : "the password";
                failures.Add($"{prefix}:Security: None sends {secret} in clear text; set AllowPlaintext=true only for a test server.");
            }
            if (mailbox.UsesOAuth2)
            {
                failures.AddRange(mailbox.OAuth2.Validate($"{prefix}:OAuth2"));
            }
            else if (mailbox.Password is null && mailbox.PasswordFile is null)
            {
                failures.Add($"{prefix}:Password: set PasswordFile, or Password through the environment (SMARTMAIL_SmartMail__Mailboxes__{i}__Password).");
            }
            if (mailbox.PasswordFile is { } file && !File.Exists(file))
            {
                failures.Add($"{prefix}:PasswordFile: '{file}' does not exist.");
            }
            if (mailbox.UseLease && mailbox.LeaseDuration < 2 * mailbox.CommandTimeout)
            {
                failures.Add($"{prefix}:LeaseDuration: must be at least twice CommandTimeout ({mailbox.CommandTimeout}), so that a holder that lost the lease stops before a standby takes over.");
            }
            if (mailbox.CaCertificateFile is { } ca && !File.Exists(ca))
            {
                failures.Add($"{prefix}:CaCertificateFile: '{ca}' does not exist.");
            }
        }
        failures.AddRange(options.Smtp?.Validate($"{SmartMailOptions.SectionName}:Smtp") ?? []);
        failures.AddRange(options.Webhook.Validate($"{SmartMailOptions.SectionName}:Webhook",
            options.Routes.Where(r => r.Value.Kind == RouteKind.Webhook).Select(r => ($"{SmartMailOptions.SectionName}:Routes:{r.Key}:Url", r.Value.Url))));
        if (options.Learning.BaseTrainingData is { } baseData && !Directory.Exists(baseData))
        {
            failures.Add($"{SmartMailOptions.SectionName}:Learning:BaseTrainingData: the folder '{baseData}' does not exist.");
        }
        var names = options.Mailboxes.GroupBy(m => m.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (names.Count > 0)
        {
            failures.Add($"{SmartMailOptions.SectionName}:Mailboxes: names must be unique ('{names[0]}' is used twice).");
        }
        if (!File.Exists(options.ModelPath))
        {
            failures.Add($"{SmartMailOptions.SectionName}:ModelPath: the model bundle '{options.ModelPath}' does not exist.");
        }
        try
        {
            _ = new RoutingPolicy(options.Rules, null, options.CaseNumbers);
        }
        catch (ArgumentException ex)
        {
            failures.Add($"{SmartMailOptions.SectionName}:{ex.Message}");
        }
        if (options.HealthUrl is { } health)
        {
            if (TelemetryOptions.PrometheusPrefix(health) is not { } healthHost)
            {
                failures.Add($"{SmartMailOptions.SectionName}:HealthUrl: must be an http:// prefix ending in '/', e.g. http://127.0.0.1:8081/health/.");
            }
            else if (!TelemetryOptions.IsLoopback(healthHost) && !options.HealthAllowRemote)
            {
                failures.Add($"{SmartMailOptions.SectionName}:HealthUrl: '{healthHost}' is not a loopback address; the report has no authentication and "
                    + "names mailboxes, so set HealthAllowRemote=true to serve it to the network (behind a firewall), or use 127.0.0.1.");
            }
        }
        if (DataDirectoryPermissions.Check(options.DataDirectory) is { } open)
        {
            failures.Add(open);
        }
        failures.AddRange(TelemetryOptions.Validate(options.Telemetry, $"{SmartMailOptions.SectionName}:Telemetry"));
        failures.AddRange(options.Web.Validate($"{SmartMailOptions.SectionName}:{SmartMail.Web.WebOptions.SectionName}"));
        if (options.ManualTriageDestination == options.QuarantineDestination)
        {
            failures.Add($"{SmartMailOptions.SectionName}:QuarantineDestination must differ from ManualTriageDestination.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The generated validator names a member "SmartMail.Mailboxes[0].Port" (its display name); the setting is SmartMail:Mailboxes:0:Port.
    private static void AttributeRules(SmartMailOptions options, List<string> failures)
    {
        var result = Attributes.Validate(SmartMailOptions.SectionName, options);
        if (result.Failed)
        {
            foreach (var failure in result.Failures)
            {
                var path = SettingPath().Match(failure);
                var setting = path.Success ? IndexPart().Replace(path.Value, ":$1").Replace('.', ':') : SmartMailOptions.SectionName;
                failures.Add($"{setting}: {(path.Success ? failure.Replace(path.Value, setting, StringComparison.Ordinal) : failure)}");
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\bSmartMail(\.\w+(\[\d+\])?)+")]
    private static partial System.Text.RegularExpressions.Regex SettingPath();

    [System.Text.RegularExpressions.GeneratedRegex(@"\[(\d+)\]")]
    private static partial System.Text.RegularExpressions.Regex IndexPart();

    private static void Annotations(object target, string prefix, List<string> failures)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true);
        failures.AddRange(results.Select(r => $"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
    }
}
