using System.Text.Json;
using Json.Schema;

namespace SmartMail.Worker.Tests;

/// <summary>The published decision schema (<c>docs/decision.schema.json</c>), for tests that check every decision they see.</summary>
internal static class DecisionSchema
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "decision.schema.json"))));

    /// <summary>The problems of <paramref name="json"/> against the schema; empty when it is valid.</summary>
    public static IReadOnlyList<string> Problems(string json)
    {
        using var document = JsonDocument.Parse(json);
        var results = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return results.IsValid
            ? []
            : [.. (results.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))];
    }

    /// <summary>Fails the test unless <paramref name="json"/> is a valid decision record.</summary>
    public static void AssertValid(string json)
    {
        var problems = Problems(json);
        Assert.True(problems.Count == 0, $"decision record does not match docs/decision.schema.json: {string.Join("; ", problems)}\n{json}");
    }
}
