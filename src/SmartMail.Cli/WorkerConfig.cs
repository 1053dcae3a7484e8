using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartMail.Worker;
using SmartMail.Worker.Options;

namespace SmartMail.Cli;

/// <summary>The worker's configuration for commands that act on an installation (run, correct, retrain, models, train --imap).</summary>
internal static partial class WorkerConfig
{
    /// <summary>Splits configuration settings (<c>--Section:Key=value</c>) from the command's own arguments.</summary>
    public static (string[] Settings, string[] Others) Split(string[] argv)
    {
        // A configuration key has a section: --SmartMail:DataDirectory=..., --Logging:LogLevel:Default=Debug.
        static bool IsSetting(string a) => a.StartsWith("--", StringComparison.Ordinal) && a.IndexOf('=', StringComparison.Ordinal) is var eq and > 0
            && a.IndexOf(':', StringComparison.Ordinal) is > 2 and var colon && colon < eq;
        return ([.. argv.Where(IsSetting)], [.. argv.Where(a => !IsSetting(a))]);
    }

    /// <summary>
    /// Builds the host (no hosted services unless <paramref name="watch"/>) and binds and validates the options. This is the
    /// one place the CLI builds its host and logging.
    /// </summary>
    /// <exception cref="ConfigurationException">appsettings.json cannot be read, or a setting is unknown, malformed or invalid; the message names it.</exception>
    public static IHost Build(string[] settings, bool watch = false)
    {
        HostApplicationBuilder builder;
        try
        {
            builder = WorkerHost.CreateBuilder(settings, watch);
        }
        catch (InvalidDataException ex)
        {
            throw new ConfigurationException(Unreadable(ex));
        }
        // The shipped model when no source names one: not the command line, the environment nor appsettings.json.
        var modelKey = $"{SmartMailOptions.SectionName}:ModelPath";
        if (string.IsNullOrEmpty(builder.Configuration[modelKey]) && DefaultPaths.Find(DefaultPaths.ModelFile) is { } model)
        {
            builder.Configuration.AddInMemoryCollection([new(modelKey, model)]);
        }
        builder.Logging.SetMinimumLevel(watch ? LogLevel.Information : LogLevel.Warning);
        var host = builder.Build();
        try
        {
            _ = host.Services.GetRequiredService<IOptions<SmartMailOptions>>().Value;
            return host;
        }
        catch (OptionsValidationException ex)
        {
            host.Dispose();
            throw new ConfigurationException([.. ex.Failures]);
        }
        catch (InvalidOperationException ex) when (NotConvertible().Match(ex.Message) is { Success: true } m)
        {
            host.Dispose();
            throw new ConfigurationException(
                $"{m.Groups["path"].Value}: '{m.Groups["value"].Value}' is not {Kind(m.Groups["type"].Value)}.");
        }
    }

    /// <summary>The options of a built host.</summary>
    public static SmartMailOptions Options(this IHost host) => host.Services.GetRequiredService<SmartMailOptions>();

    // "Failed to load configuration from file '/x/appsettings.json'." with the JSON reader's position inside.
    private static string Unreadable(InvalidDataException ex)
    {
        var file = FileName().Match(ex.Message) is { Success: true } f ? f.Groups["file"].Value : "appsettings.json";
        var where = ex.InnerException is JsonException { LineNumber: { } line, BytePositionInLine: { } column }
            ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, position {column + 1}")
            : "";
        return $"{file} is not valid JSON{where}: fix the file (a trailing comma or a missing quote is the usual cause), or move it away to run with the defaults.";
    }

    private static string Kind(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a time span such as 00:01:30",
        "System.Uri" => "a URL",
        _ => $"a valid {type}",
    };

    [GeneratedRegex("Failed to convert configuration value '(?<value>.*)' at '(?<path>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex NotConvertible();

    [GeneratedRegex("file '(?<file>[^']+)'")]
    private static partial Regex FileName();
}
