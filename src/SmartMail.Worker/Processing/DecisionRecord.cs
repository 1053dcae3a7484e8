using System.Text.Json;
using System.Text.Json.Serialization;
using SmartMail.Core.Classification;

namespace SmartMail.Worker.Processing;

/// <summary>
/// The decision record: the contract with case systems, written beside every delivered mail (the journal's <c>.json</c>, the
/// webhook's <c>decision</c>, the ledger's <c>decision_json</c>). Its JSON Schema is published as <c>docs/decision.schema.json</c>
/// (version <see cref="CurrentSchemaVersion"/>); every field is always written (<see langword="null"/> when it does not apply),
/// except the two a web action adds. Serialized by source generation (<see cref="DecisionJsonContext"/>), never by hand.
/// </summary>
public sealed record DecisionRecord
{
    /// <summary>The schema version this build writes. A new optional field keeps it; a changed or removed field bumps it.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Creates an empty record (the serializer's constructor; the record's copy constructor is not one).</summary>
    [JsonConstructor]
    public DecisionRecord()
    {
    }

    /// <summary>The schema version of this record.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The stable decision id (<c>sm-</c> and 24 hex digits): deliveries are idempotent on it.</summary>
    public required string DecisionId { get; init; }

    /// <summary>The configured mailbox name.</summary>
    public required string Mailbox { get; init; }

    /// <summary>The SHA-256 of the mail's bytes (hex).</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The mail's Message-ID, CPR numbers redacted; <see langword="null"/> when it had none.</summary>
    public string? MessageId { get; init; }

    /// <summary>What decided: <c>model</c>, <c>rule</c>, <c>thread</c>, <c>manual</c> or <c>quarantine</c>.</summary>
    public required string Source { get; init; }

    /// <summary>The label decided, when one was.</summary>
    public string? Label { get; init; }

    /// <summary>The KLE number of the label's route, when it has one.</summary>
    public string? Kle { get; init; }

    /// <summary>The model's confidence in its top label.</summary>
    public float? Confidence { get; init; }

    /// <summary>The model's top labels with their scores.</summary>
    public IReadOnlyList<LabelScore>? Top { get; init; }

    /// <summary>The confidence the label needed.</summary>
    public float? Threshold { get; init; }

    /// <summary>The model version in force.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The rule that decided, when one did.</summary>
    public string? Rule { get; init; }

    /// <summary>The decision of the mail this one replies to, when it followed its thread.</summary>
    public string? ParentDecisionId { get; init; }

    /// <summary>Terms from attachments that weighed in the decision (redacted).</summary>
    public IReadOnlyList<string>? AttachmentTerms { get; init; }

    /// <summary>Attachment file names that weighed in the decision (redacted).</summary>
    public IReadOnlyList<string>? AttachmentFiles { get; init; }

    /// <summary>Why, in words (redacted).</summary>
    public required string Reason { get; init; }

    /// <summary>Where the mail goes.</summary>
    public required string Destination { get; init; }

    /// <summary>When the decision was made.</summary>
    public required DateTimeOffset DecidedUtc { get; init; }

    /// <summary>After a web action: the label the worker had decided before a person changed it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DecidedLabel { get; init; }

    /// <summary>After a web action: what a person did.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public WebActionDone? WebAction { get; init; }

    /// <summary>Fields this build does not know (written by a newer one): kept as they were when the record is rewritten (settable: the serializer cannot bind extension data through init).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }

    /// <summary>The record as JSON.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, DecisionJsonContext.Default.DecisionRecord);

    /// <summary>Reads a record written by <see cref="ToJson"/> (or an older build).</summary>
    /// <param name="json">The JSON text, or <see langword="null"/>.</param>
    /// <returns>The record, or <see langword="null"/> when there is none or it is not a decision record.</returns>
    public static DecisionRecord? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize(json, DecisionJsonContext.Default.DecisionRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>What a person did to a mail in the web app.</summary>
/// <param name="Kind">The action (<c>move</c>, <c>release</c>, …).</param>
/// <param name="By">Who did it.</param>
/// <param name="From">The destination the mail left.</param>
public sealed record WebActionDone(string Kind, string By, string From);

/// <summary>Source-generated JSON for the decision record: camelCase names, nulls written.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DecisionRecord))]
public sealed partial class DecisionJsonContext : JsonSerializerContext;
