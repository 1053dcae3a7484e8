using Npgsql;

namespace SmartMail.Worker.State;

/// <summary>
/// The state store on a PostgreSQL database shared by a fleet of instances: the same ledger, audit trail, web summaries and
/// actions, thread memory and learning state as <see cref="SqliteStateStore"/>, from the same queries. Each instance names
/// itself (<paramref name="instanceId"/>): its IMAP claim markers and its own values (<see cref="IInstanceMeta"/>) are its own.
/// </summary>
/// <param name="connectionString">Npgsql's form (Host, Port, Database, Username, Password).</param>
/// <param name="instanceId">This instance's id: letters and digits, at most 8.</param>
/// <param name="auditFile">Where this instance mirrors the audit rows it writes; none when <see langword="null"/>.</param>
/// <exception cref="StateStoreException">The database cannot be reached or written, or its schema is newer than this binary.</exception>
public sealed class PostgreSqlStateStore(string connectionString, string instanceId, string? auditFile = null)
    : StateStore(new PostgreSqlDialect(), Connector(connectionString), Describe(connectionString), auditFile, CheckId(instanceId))
{
    private static Func<bool, System.Data.Common.DbConnection> Connector(string connectionString) => _ => new NpgsqlConnection(connectionString);

    // Server and database, never the password.
    private static string Describe(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgresql://{b.Host}:{b.Port}/{b.Database}";
    }

    private static string CheckId(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        if (instanceId.Length > 8 || !instanceId.All(char.IsAsciiLetterOrDigit))
        {
            throw new ArgumentException($"The instance id '{instanceId}' must be 1 to 8 letters and digits.", nameof(instanceId));
        }
        return instanceId;
    }
}
