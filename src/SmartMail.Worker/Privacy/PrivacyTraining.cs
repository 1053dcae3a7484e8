using SmartMail.Core.Privacy;
using SmartMail.Worker.Learning;

namespace SmartMail.Worker.Privacy;

/// <summary>Records, per model version, the keyed hashes of the examples it learned from.</summary>
public static class PrivacyTraining
{
    /// <summary>The callback a retrain calls with the candidate's version and its examples.</summary>
    /// <param name="store">Where it is recorded.</param>
    /// <param name="hash">The installation's keyed hash.</param>
    /// <returns>The callback.</returns>
    public static Action<string, IReadOnlyList<StoredExample>> Recorder(IPrivacyStore store, KeyedHash hash)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(hash);
        return (version, examples) => store.RecordTraining(version,
            [.. examples.Select(e => hash.OfExample(e.Mailbox, e.Document.Fingerprint)).Distinct(StringComparer.Ordinal)]);
    }
}
