using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace SmartMail.Worker.Options;

/// <summary>
/// Fails on settings under <c>SmartMail</c> that bind to nothing (a misspelt <c>MaxAttemps</c> would otherwise be ignored
/// silently) or whose value does not convert (<c>Port=abc</c> inside a list would otherwise drop the whole mailbox
/// silently), naming each by its full path, e.g. <c>SmartMail:Mailboxes:0:Prot</c>.
/// </summary>
/// <remarks>
/// The binder's own <c>ErrorOnUnknownConfiguration</c> names only the property, not where it is, and the binder skips list
/// items it cannot convert; this walks the configuration against the options' types instead.
/// </remarks>
/// <param name="configuration">The configuration the options are bound from.</param>
public sealed class SettingsBindingValidator(IConfiguration configuration) : IValidateOptions<SmartMailOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SmartMailOptions options)
    {
        var problems = Problems(configuration.GetSection(SmartMailOptions.SectionName), typeof(SmartMailOptions)).ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>What under <paramref name="section"/> no property of <paramref name="type"/> takes, or does not convert.</summary>
    /// <param name="section">The configuration section.</param>
    /// <param name="type">The type it binds to.</param>
    /// <returns>One message per problem, starting with the setting's full path.</returns>
    public static IEnumerable<string> Problems(IConfigurationSection section, Type type)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(type);
        if (IsLeaf(type))
        {
            // A value cannot have children: SmartMail:MaxAttempts:Foo binds to nothing.
            return section.GetChildren().Select(c => Unknown(c.Path)).Concat(Convertible(section, type) ? [] : [NotConvertible(section, type)]);
        }
        if (DictionaryValue(type) is { } valueType)
        {
            return section.GetChildren().SelectMany(c => Problems(c, valueType));
        }
        if (ElementType(type) is { } elementType)
        {
            if (section.Value is { Length: > 0 } single)
            {
                // "Scopes": "imap" binds to nothing (the list stays empty): a list is written as a JSON list.
                return [$"{section.Path}: '{single}' is a single value, but this setting is a list: write it as a JSON list, e.g. [\"{single}\"]."];
            }
            return section.GetChildren().SelectMany(c => int.TryParse(c.Key, out _) ? Problems(c, elementType) : [Unknown(c.Path)]);
        }
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.CanWrite || !IsLeaf(p.PropertyType)))
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        return section.GetChildren().SelectMany(c => properties.TryGetValue(c.Key, out var p) ? Problems(c, p.PropertyType) : [Unknown(c.Path)]);
    }

    private static string Unknown(string path) => $"{path}: no such setting; check the spelling (docs/operations.md lists every setting).";

    // As the binder converts: the type's TypeConverter, invariant culture; an empty value leaves a nullable or string unset.
    private static bool Convertible(IConfigurationSection section, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (section.Value is not { } value || target == typeof(string) || (value.Length == 0 && (Nullable.GetUnderlyingType(type) is not null || !type.IsValueType)))
        {
            return true;
        }
        try
        {
            _ = System.ComponentModel.TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException or UriFormatException)
        {
            return false;
        }
    }

    private static string NotConvertible(IConfigurationSection section, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        var kind = target == typeof(int) || target == typeof(long) ? "a whole number"
            : target == typeof(double) || target == typeof(float) || target == typeof(decimal) ? "a number"
            : target == typeof(bool) ? "true or false"
            : target == typeof(TimeSpan) ? "a time span such as 00:01:30"
            : target.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(target))}"
            : $"a valid {target.Name}";
        return $"{section.Path}: '{section.Value}' is not {kind}.";
    }

    private static bool IsLeaf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Uri) || type == typeof(Guid);
    }

    private static Type? DictionaryValue(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var d && (d == typeof(Dictionary<,>) || d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>))
            ? type.GetGenericArguments()[1]
            : null;

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0]
        : null;
}
