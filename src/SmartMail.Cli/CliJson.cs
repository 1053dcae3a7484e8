using System.Text.Json;
using System.Text.Json.Serialization;
using SmartMail.Core.Classification;

namespace SmartMail.Cli;

/// <summary>The JSON the CLI writes: the model's camelCase settings, with enums as their names.</summary>
internal static class CliJson
{
    /// <summary>Indented (reports).</summary>
    public static JsonSerializerOptions Indented { get; } = new(ModelBundle.JsonOptions) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>One line per object (classify --json).</summary>
    public static JsonSerializerOptions Compact { get; } = new(Indented) { WriteIndented = false };
}
