using SmartMail.Worker.Options;

namespace SmartMail.Worker.State;

/// <summary>Opens the state store <c>SmartMail:State</c> chooses: SQLite in the data directory, or the shared PostgreSQL database.</summary>
public static class StateStores
{
    /// <summary>The SQLite file in <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <returns>Its <c>state.db</c>.</returns>
    public static string SqlitePath(string dataDirectory) => Path.Combine(dataDirectory, "state.db");

    /// <summary>Opens (creating or migrating forward) the store of <paramref name="options"/>.</summary>
    /// <param name="options">The settings.</param>
    /// <returns>The store; the caller disposes it.</returns>
    /// <exception cref="StateStoreException">It cannot be opened, or its schema is newer than this binary.</exception>
    public static StateStore Open(SmartMailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Each instance mirrors the audit rows it writes (recovery rows included) to its own audit.jsonl.
        var auditFile = options.AuditJsonLines ? Path.Combine(options.DataDirectory, "audit.jsonl") : null;
        return options.State.IsPostgreSql
            ? new PostgreSqlStateStore(options.State.ResolveConnectionString(), options.State.ResolveInstanceId(options.DataDirectory), auditFile)
            : new SqliteStateStore(SqlitePath(options.DataDirectory), auditFile: auditFile);
    }

    /// <summary>The private files the data directory gets (<c>state.db</c> only when the state is there).</summary>
    /// <param name="options">The settings.</param>
    /// <returns>File names.</returns>
    public static string[] PrivateFiles(SmartMailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return [.. options.State.IsPostgreSql ? Array.Empty<string>() : ["state.db"], "smartmail.lock", .. options.AuditJsonLines ? ["audit.jsonl"] : Array.Empty<string>()];
    }
}
