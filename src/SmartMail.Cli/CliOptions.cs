using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace SmartMail.Cli;

/// <summary>Option factories shared by the verbs: numbers are parsed invariantly and checked against their range.</summary>
internal static class CliOptions
{
    /// <summary>A number option from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<T> Number<T>(string name, T defaultValue, T min, T max, string description)
        where T : struct, INumber<T>
    {
        var kind = typeof(T) == typeof(int) ? "a whole number" : "a number";
        return new Option<T>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var raw = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (T.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max)
                {
                    return v;
                }
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {kind} from {min} to {max}, not '{raw}'."));
                return defaultValue;
            },
        };
    }

    /// <summary>A number option without a default (the configuration's value applies), from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<T?> OptionalNumber<T>(string name, T min, T max, string description, string helpName)
        where T : struct, INumber<T>
    {
        var kind = typeof(T) == typeof(int) ? "a whole number" : "a number";
        return new Option<T?>(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result =>
            {
                var raw = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (T.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max)
                {
                    return v;
                }
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {kind} from {min} to {max}, not '{raw}'."));
                return null;
            },
        };
    }

    /// <summary>The note on <c>--Section:Key=value</c> settings for the verbs that read the worker's configuration.</summary>
    public const string SettingsNote =
        "Settings come from appsettings.json, SMARTMAIL_SmartMail__Key environment variables and --SmartMail:Key=value arguments (docs/operations.md).";
}
