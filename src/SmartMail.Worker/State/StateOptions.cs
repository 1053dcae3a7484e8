using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace SmartMail.Worker.State;

/// <summary>
/// Where the state lives (<c>SmartMail:State</c>): SQLite in the data directory (the embedded default), or a PostgreSQL
/// database a fleet of instances shares. The connection string is Npgsql's form; it comes from <see cref="ConnectionStringFile"/>
/// (a file holding the whole connection string) or the environment (<c>SmartMail__State__ConnectionString</c>), never from
/// appsettings.json when it holds a password.
/// </summary>
public sealed class StateOptions
{
    /// <summary>The SQLite provider's name (the default).</summary>
    public const string Sqlite = "Sqlite";

    /// <summary>The PostgreSQL provider's name.</summary>
    public const string PostgreSql = "PostgreSql";

    /// <summary>The provider: <c>Sqlite</c> (the default: <c>DataDirectory/state.db</c>) or <c>PostgreSql</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>PostgreSQL's connection string (Npgsql's form: Host, Port, Database, Username, Password); from the environment, not appsettings.json.</summary>
    public string? ConnectionString { get; set => field = string.IsNullOrEmpty(value) ? null : value; }

    /// <summary>A file holding the whole connection string (e.g. a container secret), instead of <see cref="ConnectionString"/>. Empty: none.</summary>
    public string? ConnectionStringFile { get; set => field = string.IsNullOrEmpty(value) ? null : value; }

    /// <summary>
    /// This instance's name in a shared database (1 to 8 letters and digits; IMAP claim markers carry it). When empty it is
    /// derived from the machine's name and the data directory, so it stays the same across restarts.
    /// </summary>
    public string? InstanceId { get; set => field = string.IsNullOrEmpty(value) ? null : value; }

    /// <summary>Whether the state is in PostgreSQL.</summary>
    public bool IsPostgreSql => string.Equals(Provider, PostgreSql, StringComparison.OrdinalIgnoreCase);

    /// <summary>The connection string in force: <see cref="ConnectionStringFile"/>'s content, else <see cref="ConnectionString"/>.</summary>
    /// <returns>The connection string.</returns>
    /// <exception cref="InvalidOperationException">Neither is set.</exception>
    public string ResolveConnectionString() =>
        ConnectionStringFile is { } file ? File.ReadAllText(file).Trim()
        : ConnectionString ?? throw new InvalidOperationException($"{Setting}:ConnectionString: the PostgreSql provider needs a connection string.");

    /// <summary>This instance's id in force: <see cref="InstanceId"/>, else derived stably from the machine and <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">The instance's data directory.</param>
    /// <returns>Eight characters or fewer, letters and digits.</returns>
    public string ResolveInstanceId(string dataDirectory)
    {
        if (!string.IsNullOrWhiteSpace(InstanceId))
        {
            return InstanceId.Trim();
        }
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{Environment.MachineName}\n{Path.GetFullPath(dataDirectory)}"));
        return Convert.ToHexStringLower(hash)[..8];
    }

    private const string Setting = "SmartMail:State";

    /// <summary>What is wrong with these settings, one line each, starting with the setting's path.</summary>
    /// <returns>The failures (none when valid).</returns>
    public IEnumerable<string> Validate()
    {
        if (!string.Equals(Provider, Sqlite, StringComparison.OrdinalIgnoreCase) && !IsPostgreSql)
        {
            yield return $"{Setting}:Provider: '{Provider}' is no provider; use {Sqlite} (the default) or {PostgreSql}.";
            yield break;
        }
        if (InstanceId is { Length: > 0 } id && (id.Length > 8 || !id.All(char.IsAsciiLetterOrDigit)))
        {
            yield return $"{Setting}:InstanceId: '{id}' must be 1 to 8 letters and digits.";
        }
        if (!IsPostgreSql)
        {
            if (ConnectionString is not null || ConnectionStringFile is not null)
            {
                yield return $"{Setting}:ConnectionString: only the {PostgreSql} provider uses a connection string; set {Setting}:Provider={PostgreSql}, or remove it.";
            }
            yield break;
        }
        if (ConnectionString is not null && ConnectionStringFile is not null)
        {
            yield return $"{Setting}:ConnectionStringFile: set either ConnectionStringFile or ConnectionString, not both.";
            yield break;
        }
        if (ConnectionString is null && ConnectionStringFile is null)
        {
            yield return $"{Setting}:ConnectionString: the {PostgreSql} provider needs one: set ConnectionStringFile, or ConnectionString through the environment (SmartMail__State__ConnectionString).";
            yield break;
        }
        if (ConnectionStringFile is { } file && !File.Exists(file))
        {
            yield return $"{Setting}:ConnectionStringFile: '{file}' does not exist.";
            yield break;
        }
        var which = ConnectionStringFile is null ? "ConnectionString" : "ConnectionStringFile";
        string? problem;
        try
        {
            var b = new NpgsqlConnectionStringBuilder(ResolveConnectionString());
            problem = string.IsNullOrEmpty(b.Host) ? "names no Host" : string.IsNullOrEmpty(b.Database) ? "names no Database" : null;
        }
        catch (ArgumentException ex)
        {
            // Npgsql names the keyword it does not know, never a value.
            problem = $"is not an Npgsql connection string ({ex.Message})";
        }
        if (problem is not null)
        {
            yield return $"{Setting}:{which}: the connection string {problem}.";
        }
    }

    /// <summary>
    /// The refusal of a connection string with a password in a settings file (appsettings.json): a password goes in
    /// <see cref="ConnectionStringFile"/> or the environment. <see langword="null"/> when there is none.
    /// </summary>
    /// <param name="configuration">The host's configuration.</param>
    /// <returns>One line naming the setting, or <see langword="null"/>.</returns>
    public static string? PasswordInSettingsFile(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            return null;
        }
        foreach (var provider in root.Providers.OfType<FileConfigurationProvider>())
        {
            if (provider.TryGet($"{Setting}:ConnectionString", out var value) && value is { Length: > 0 } && HasPassword(value))
            {
                return $"{Setting}:ConnectionString: a password in {provider.Source.Path ?? "a settings file"} is refused; put the connection string in "
                    + "ConnectionStringFile or the environment (SmartMail__State__ConnectionString).";
            }
        }
        return null;
    }

    private static bool HasPassword(string connectionString)
    {
        try
        {
            return !string.IsNullOrEmpty(new NpgsqlConnectionStringBuilder(connectionString).Password);
        }
        catch (ArgumentException)
        {
            return connectionString.Contains("password", StringComparison.OrdinalIgnoreCase);
        }
    }
}
