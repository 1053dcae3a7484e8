using SmartMail.Worker.Learning;

namespace SmartMail.Worker.State;

/// <summary>
/// The model registry's side of the state store: every model version with its bundle's bytes, its metadata and its
/// comparison report, and the history of seedings, promotions and rollbacks (the last one names the version served). On a
/// database a fleet shares, a promotion on one instance is what every instance serves next. Changes are serialised across
/// instances; a promotion or rollback commits in one transaction with its audit row.
/// </summary>
public interface IModelStore
{
    /// <summary>The last change of the registry (its sequence number and the version served), without any bundle; <see langword="null"/> before the first.</summary>
    /// <returns>The head.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    ModelHead? CurrentModel();

    /// <summary>The registry's record: the versions (without their bytes), the version served and the history, oldest first.</summary>
    /// <returns>The record.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    RegistryRecord ReadModels();

    /// <summary>The bundle of <paramref name="version"/>, or <see langword="null"/> when the registry has no such version.</summary>
    /// <param name="version">The version.</param>
    /// <returns>The zip's bytes.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    byte[]? ReadModelBundle(string version);

    /// <summary>The comparison report (Markdown) kept with <paramref name="version"/>, if any.</summary>
    /// <param name="version">The version.</param>
    /// <returns>The text.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    string? ReadModelReport(string version);

    /// <summary>Keeps a version (not served): added, or replaced when it is there already (the version served stays <c>current</c>).</summary>
    /// <param name="model">The version.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    void AddModel(StoredModel model, DateTimeOffset now);

    /// <summary>Records <paramref name="model"/> (the configured model) as the first version served, unless the registry has a history already.</summary>
    /// <param name="model">The configured model.</param>
    /// <param name="reason">For the history.</param>
    /// <param name="now">The time.</param>
    /// <returns>Whether it was recorded.</returns>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    bool SeedModel(StoredModel model, string reason, DateTimeOffset now);

    /// <summary>
    /// Serves <paramref name="version"/> from now on (<c>promote</c>), or, when it is <see langword="null"/>, the version served
    /// before the current one (<c>rollback</c>); in one transaction with the history row and the audit row <paramref name="audit"/> makes.
    /// </summary>
    /// <param name="version">The version, or <see langword="null"/> for a rollback.</param>
    /// <param name="reason">For the history.</param>
    /// <param name="now">The time.</param>
    /// <param name="audit">The audit row of the change.</param>
    /// <returns>The change.</returns>
    /// <exception cref="ArgumentException">The version is not in the registry.</exception>
    /// <exception cref="InvalidOperationException">A rollback with nothing to go back to.</exception>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    ModelChange ChangeModel(string? version, string reason, DateTimeOffset now, Func<ModelChange, AuditEntry> audit);

    /// <summary>Deletes <paramref name="version"/>'s row and bundle (not the one served), in one transaction with the audit row <paramref name="audit"/> makes.</summary>
    /// <param name="version">The version.</param>
    /// <param name="audit">The audit row of the deletion.</param>
    /// <exception cref="ArgumentException">The version is not in the registry.</exception>
    /// <exception cref="InvalidOperationException">The version is served now.</exception>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    void DeleteModel(string version, AuditEntry audit);

    /// <summary>Imports a registry kept in files (before it lived in the store) into an empty one, in one transaction.</summary>
    /// <param name="models">The versions.</param>
    /// <param name="history">The history, oldest first.</param>
    /// <returns>Whether it was imported (<see langword="false"/>: the store's registry has versions or history already).</returns>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    bool ImportModels(IReadOnlyList<StoredModel> models, IReadOnlyList<RegistryEvent> history);
}

/// <summary>The registry's last change.</summary>
/// <param name="Seq">Its sequence number: a new one means another model is served.</param>
/// <param name="Version">The version served from then on.</param>
public sealed record ModelHead(long Seq, string Version);

/// <summary>A version with its bytes, as the store keeps it.</summary>
/// <param name="Entry">Its metadata.</param>
/// <param name="Bundle">The zip.</param>
/// <param name="ReportText">Its comparison report (Markdown), if any.</param>
public sealed record StoredModel(ModelEntry Entry, byte[] Bundle, string? ReportText);

/// <summary>A promotion or rollback as recorded.</summary>
/// <param name="Action"><c>promote</c> or <c>rollback</c>.</param>
/// <param name="Version">The version served from now on.</param>
/// <param name="Previous">The version served before (<see langword="null"/>: the configured model, never recorded).</param>
/// <param name="Seq">The history row's sequence number.</param>
public sealed record ModelChange(string Action, string Version, string? Previous, long Seq);
