using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace SmartMail.Worker.Tests.StateStores;

/// <summary>
/// A throwaway real PostgreSQL on 127.0.0.1, owned by the repository like the Dovecot fixture: <c>initdb</c> into a temp
/// directory and <c>pg_ctl start</c> on a free port, its unix socket in that directory, a superuser and password generated
/// for the run. PostgreSQL refuses to run as root, so as root the server runs as the <c>postgres</c> user (Debian's package
/// makes it) with the directory handed to it. Skips the test with a clear message when the binaries (Debian's
/// <c>postgresql</c> package) are missing. Stopped and removed at dispose.
/// </summary>
public sealed class PostgreSqlServer : IAsyncDisposable
{
    private static readonly object PortLock = new();
    private static readonly HashSet<int> HandedOut = [];
    private readonly string _bin;
    private readonly bool _asPostgres;

    private PostgreSqlServer(string bin, string directory, int port, bool asPostgres)
    {
        _bin = bin;
        Directory = directory;
        Port = port;
        _asPostgres = asPostgres;
    }

    /// <summary>Why PostgreSQL tests skip on a machine without it.</summary>
    public const string NotInstalled =
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): install Debian's 'postgresql' package (.ci/run does) to run the PostgreSQL tests.";

    /// <summary>Whether the binaries are there.</summary>
    public static bool IsInstalled => FindBinaries() is not null;

    /// <summary>The server's directory: data/, the socket, server.log.</summary>
    public string Directory { get; }

    public int Port { get; }

    public string User { get; } = "smartmail";

    public string Password { get; } = RandomNumberGenerator.GetHexString(24, lowercase: true);

    private string Data => Path.Combine(Directory, "data");

    /// <summary>Npgsql's connection string for <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Password = Password,
        Database = database,
        Pooling = false,
        Timeout = 30,
    }.ToString();

    /// <summary>Initialises and starts a server; skips the test when PostgreSQL is not installed.</summary>
    public static async Task<PostgreSqlServer> StartAsync()
    {
        var bin = FindBinaries();
        if (bin is null)
        {
            Assert.Skip(NotInstalled);
        }
        var asPostgres = Environment.UserName == "root";
        var dir = System.IO.Directory.CreateTempSubdirectory("smartmail-pg-").FullName;
        var server = new PostgreSqlServer(bin, dir, FreePort(), asPostgres);
        try
        {
            await server.InitAsync();
            await server.StartAgainAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>The first column of every row <paramref name="sql"/> returns on <paramref name="connectionString"/>, as invariant text.</summary>
    public static List<string> Rows(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var cmd = new NpgsqlCommand(sql, connection);
        using var reader = cmd.ExecuteReader();
        var result = new List<string>();
        while (reader.Read())
        {
            result.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }
        return result;
    }

    /// <summary>Starts the server (again) on the same port and data.</summary>
    public Task StartAgainAsync() => RunAsync("pg_ctl", "-D", Data, "-l", Path.Combine(Directory, "server.log"), "-w", "-t", "60",
        "-o", $"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50", "start");

    /// <summary>Stops the server (fast shutdown: open connections are cut, as in a restart).</summary>
    public Task StopAsync() => RunAsync("pg_ctl", "-D", Data, "-w", "-t", "60", "-m", "fast", "stop");

    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(Data, "postmaster.pid")))
        {
            try
            {
                await StopAsync();
            }
            catch (InvalidOperationException)
            {
                // already stopped
            }
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task InitAsync()
    {
        var pwfile = Path.Combine(Directory, "pw");
        await File.WriteAllTextAsync(pwfile, Password);
        if (_asPostgres)
        {
            await RunRawAsync("chown", ["-R", "postgres:postgres", Directory]);
        }
        await RunAsync("initdb", "-D", Data, "-U", User, "--pwfile", pwfile, "-A", "scram-sha-256", "--auth-local=trust", "-E", "UTF8",
            "--locale=C", "--no-sync");
        File.Delete(pwfile);
    }

    private Task RunAsync(string tool, params string[] args) =>
        _asPostgres ? RunRawAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. args]) : RunRawAsync(Path.Combine(_bin, tool), args);

    private static async Task RunRawAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', args)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }

    private static string? FindBinaries()
    {
        if (!OperatingSystem.IsLinux() || !System.IO.Directory.Exists("/usr/lib/postgresql"))
        {
            return null;
        }
        return System.IO.Directory.GetDirectories("/usr/lib/postgresql")
            .Select(d => Path.Combine(d, "bin"))
            .Where(b => File.Exists(Path.Combine(b, "pg_ctl")) && File.Exists(Path.Combine(b, "initdb")))
            .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        lock (PortLock)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}

/// <summary>One PostgreSQL server per test class (xunit class fixture); tests make their own databases on it.</summary>
public sealed class PostgreSqlFixture : IAsyncLifetime
{
    private PostgreSqlServer? _server;
    private int _databases;

    public PostgreSqlServer Server => _server ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        if (!PostgreSqlServer.IsInstalled)
        {
            SkipReason = PostgreSqlServer.NotInstalled;
            return;
        }
        _server = await PostgreSqlServer.StartAsync();
    }

    /// <summary>Why the tests skip (PostgreSQL missing), if they do.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>A new empty database on the class's server.</summary>
    public Task<string> NewDatabaseAsync()
    {
        if (SkipReason is not null)
        {
            Assert.Skip(SkipReason);
        }
        return Server.CreateDatabaseAsync($"t{Interlocked.Increment(ref _databases)}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
