using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SmartMail.Core.Routing;

namespace SmartMail.Worker.Options;

/// <summary>Validates <see cref="SmartMailOptions"/> at start-up; every message names the setting.</summary>
public sealed class SmartMailOptionsValidator : IValidateOptions<SmartMailOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SmartMailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Annotations(options, SmartMailOptions.SectionName, failures);
        foreach (var (label, route) in options.Routes)
        {
            Annotations(route, $"{SmartMailOptions.SectionName}:Routes:{label}", failures);
        }
        if (!File.Exists(options.ModelPath))
        {
            failures.Add($"{SmartMailOptions.SectionName}:ModelPath: the model bundle '{options.ModelPath}' does not exist.");
        }
        try
        {
            _ = new RoutingPolicy(options.Rules, null);
        }
        catch (ArgumentException ex)
        {
            failures.Add($"{SmartMailOptions.SectionName}:{ex.Message}");
        }
        if (options.ManualTriageDestination == options.QuarantineDestination)
        {
            failures.Add($"{SmartMailOptions.SectionName}:QuarantineDestination must differ from ManualTriageDestination.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Annotations(object target, string prefix, List<string> failures)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(target, new ValidationContext(target), results, validateAllProperties: true);
        failures.AddRange(results.Select(r => $"{prefix}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
    }
}
