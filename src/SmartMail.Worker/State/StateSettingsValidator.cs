using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.State;

/// <summary>Validates <c>SmartMail:State</c> at start-up (<see cref="StateOptions.Validate"/>), and refuses a password in a settings file.</summary>
/// <param name="configuration">The host's configuration (to tell appsettings.json from the environment).</param>
public sealed class StateSettingsValidator(IConfiguration configuration) : IValidateOptions<SmartMailOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SmartMailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = options.State.Validate().ToList();
        if (StateOptions.PasswordInSettingsFile(configuration) is { } refused)
        {
            failures.Insert(0, refused);
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
