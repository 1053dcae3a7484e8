using Microsoft.Extensions.Options;

namespace SmartMail.Worker.Options;

/// <summary>
/// The data-annotation rules of <see cref="SmartMailOptions"/> and the objects it holds (<c>[Range]</c>, <c>[Required]</c>,
/// ...), generated at compile time. <see cref="SmartMailOptionsValidator"/> runs it and adds the cross-field rules.
/// </summary>
[OptionsValidator]
public sealed partial class SmartMailOptionsAttributeValidator : IValidateOptions<SmartMailOptions>
{
}
