using System.Data.Common;
using System.Globalization;
using SmartMail.Worker.Learning;

namespace SmartMail.Worker.State;

// The model registry in the store (IModelStore): model_version holds each version with its bundle, model_event the
// append-only history whose last row names the version served. Every change runs in Transact, after the dialect's
// registry lock (PostgreSQL: an advisory lock, so two instances' promotions take turns and each sees the other's).
public abstract partial class StateStore
{
    private const string VersionColumns = "version, created_utc, status, labels, routed_labels, documents, holdout_macro_f1, report";

    /// <inheritdoc />
    public ModelHead? CurrentModel() => WithConnection("cannot be read", connection => Head(connection, null));

    /// <inheritdoc />
    public RegistryRecord ReadModels() => WithConnection("cannot be read", connection => Record(connection, null));

    /// <inheritdoc />
    public byte[]? ReadModelBundle(string version) => WithConnection("cannot be read", connection =>
    {
        using var cmd = connection.Command("SELECT bundle FROM model_version WHERE version = @v", ("@v", version));
        return cmd.ExecuteScalar() as byte[];
    });

    /// <inheritdoc />
    public string? ReadModelReport(string version) => WithConnection("cannot be read", connection =>
    {
        using var cmd = connection.Command("SELECT report_text FROM model_version WHERE version = @v", ("@v", version));
        return cmd.ExecuteScalar() as string;
    });

    /// <inheritdoc />
    public void AddModel(StoredModel model, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(model);
        Transact((tx, _) =>
        {
            LockRegistry(tx);
            InsertModel(tx, model, now, """
                ON CONFLICT (version) DO UPDATE SET created_utc = excluded.created_utc,
                    status = CASE WHEN model_version.status = 'current' THEN 'current' ELSE excluded.status END,
                    labels = excluded.labels, routed_labels = excluded.routed_labels, documents = excluded.documents,
                    holdout_macro_f1 = excluded.holdout_macro_f1, report = excluded.report, report_text = excluded.report_text,
                    bundle = excluded.bundle, added_utc = excluded.added_utc
                """);
        });
    }

    /// <inheritdoc />
    public bool SeedModel(StoredModel model, string reason, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(model);
        var seeded = false;
        Transact((tx, _) =>
        {
            LockRegistry(tx);
            if (Head(tx.Connection!, tx) is not null)
            {
                return;
            }
            InsertModel(tx, model with { Entry = model.Entry with { Status = "current" } }, now,
                "ON CONFLICT (version) DO UPDATE SET status = 'current'");
            InsertEvent(tx, new RegistryEvent(now, "seed", model.Entry.Version, null, reason));
            seeded = true;
        });
        return seeded;
    }

    /// <inheritdoc />
    public ModelChange ChangeModel(string? version, string reason, DateTimeOffset now, Func<ModelChange, AuditEntry> audit)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentNullException.ThrowIfNull(audit);
        ModelChange? change = null;
        Transact((tx, rows) =>
        {
            LockRegistry(tx);
            var connection = tx.Connection!;
            var record = Record(connection, tx);
            var action = version is null ? "rollback" : "promote";
            var target = version
                ?? record.History.LastOrDefault(e => e.Version == record.Current)?.Previous
                ?? throw new InvalidOperationException("There is no earlier model to roll back to (nothing was promoted over another model).");
            if (record.Models.All(m => m.Version != target))
            {
                throw new ArgumentException($"model version '{target}' is not in the registry ({Location}); see 'smartmail models list'.", nameof(version));
            }
            using (var retire = connection.Command("UPDATE model_version SET status = 'retired' WHERE status = 'current' AND version <> @v", ("@v", target)))
            {
                retire.Transaction = tx;
                retire.ExecuteNonQuery();
            }
            using (var serve = connection.Command("UPDATE model_version SET status = 'current' WHERE version = @v", ("@v", target)))
            {
                serve.Transaction = tx;
                serve.ExecuteNonQuery();
            }
            var seq = InsertEvent(tx, new RegistryEvent(now, action, target, record.Current, reason));
            change = new ModelChange(action, target, record.Current, seq);
            rows.Add(audit(change));
        });
        return change!;
    }

    /// <inheritdoc />
    public void DeleteModel(string version, AuditEntry audit)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(audit);
        Transact((tx, rows) =>
        {
            LockRegistry(tx);
            if (Head(tx.Connection!, tx)?.Version == version)
            {
                throw new InvalidOperationException($"model version '{version}' is served now: promote another or roll back first.");
            }
            using var delete = tx.Connection!.Command("DELETE FROM model_version WHERE version = @v", ("@v", version));
            delete.Transaction = tx;
            if (delete.ExecuteNonQuery() == 0)
            {
                throw new ArgumentException($"model version '{version}' is not in the registry ({Location}); see 'smartmail models list'.", nameof(version));
            }
            rows.Add(audit);
        });
    }

    /// <inheritdoc />
    public bool ImportModels(IReadOnlyList<StoredModel> models, IReadOnlyList<RegistryEvent> history)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(history);
        var imported = false;
        Transact((tx, _) =>
        {
            LockRegistry(tx);
            var record = Record(tx.Connection!, tx);
            if (record.Models.Count > 0 || record.History.Count > 0)
            {
                return;
            }
            foreach (var model in models)
            {
                InsertModel(tx, model, model.Entry.CreatedUtc, "ON CONFLICT (version) DO NOTHING");
            }
            foreach (var e in history)
            {
                InsertEvent(tx, e);
            }
            imported = true;
        });
        return imported;
    }

    private void LockRegistry(DbTransaction tx)
    {
        if (Dialect.RegistryLock is { } sql)
        {
            using var cmd = tx.Connection!.Command(sql);
            cmd.Transaction = tx;
            cmd.ExecuteNonQuery();
        }
    }

    private static ModelHead? Head(DbConnection connection, DbTransaction? tx)
    {
        using var cmd = connection.Command("SELECT seq, version FROM model_event ORDER BY seq DESC LIMIT 1");
        cmd.Transaction = tx;
        using var r = cmd.ExecuteReader();
        return r.Read() ? new ModelHead(r.GetInt64(0), r.GetString(1)) : null;
    }

    private static RegistryRecord Record(DbConnection connection, DbTransaction? tx)
    {
        var models = new List<ModelEntry>();
        using (var cmd = connection.Command($"SELECT {VersionColumns} FROM model_version ORDER BY created_utc, version"))
        {
            cmd.Transaction = tx;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var version = r.GetString(0);
                models.Add(new ModelEntry(version, Parse(r.GetString(1)), ModelRegistry.CacheFile(version), r.GetString(2), r.GetInt32(3), r.GetInt32(4),
                    r.GetInt32(5), r.IsDBNull(6) ? null : r.GetDouble(6), r.IsDBNull(7) ? null : r.GetString(7)));
            }
        }
        var history = new List<RegistryEvent>();
        using (var cmd = connection.Command("SELECT time_utc, action, version, previous, reason FROM model_event ORDER BY seq"))
        {
            cmd.Transaction = tx;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                history.Add(new RegistryEvent(Parse(r.GetString(0)), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4)));
            }
        }
        return new RegistryRecord { Current = history.LastOrDefault()?.Version, Models = models, History = history };
    }

    private static void InsertModel(DbTransaction tx, StoredModel model, DateTimeOffset now, string onConflict)
    {
        var e = model.Entry;
        using var cmd = tx.Connection!.Command($"""
            INSERT INTO model_version ({VersionColumns}, report_text, bundle, added_utc)
            VALUES (@v, @c, @s, @l, @rl, @d, @f1, @r, @rt, @b, @t) {onConflict}
            """,
            ("@v", e.Version), ("@c", Time(e.CreatedUtc)), ("@s", e.Status), ("@l", e.Labels), ("@rl", e.RoutedLabels), ("@d", e.Documents),
            ("@f1", e.HoldoutMacroF1), ("@r", e.Report), ("@rt", model.ReportText), ("@b", model.Bundle), ("@t", Time(now)));
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private static long InsertEvent(DbTransaction tx, RegistryEvent e)
    {
        using var cmd = tx.Connection!.Command("INSERT INTO model_event (time_utc, action, version, previous, reason) VALUES (@t, @a, @v, @p, @r) RETURNING seq",
            ("@t", Time(e.TimeUtc)), ("@a", e.Action), ("@v", e.Version), ("@p", e.Previous), ("@r", e.Reason));
        cmd.Transaction = tx;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static DateTimeOffset Parse(string time) => DateTimeOffset.Parse(time, CultureInfo.InvariantCulture);
}
