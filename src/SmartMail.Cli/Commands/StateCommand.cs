using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SmartMail.Worker.State;

namespace SmartMail.Cli.Commands;

/// <summary>
/// <c>smartmail state migrate</c> and <c>smartmail state copy --to CONNECTION</c>: the state store's schema, and moving an
/// instance's SQLite state into the PostgreSQL database a fleet shares (docs/operations.md).
/// </summary>
internal static class StateCommand
{
    public static Command Create(string[] settings)
    {
        var command = new Command("state", "The state store (SmartMail:State): its schema, and moving SQLite state to PostgreSQL.");
        var migrate = new Command("migrate", $"""
            Applies the schema's migrations to the configured state store (SmartMail:State: SQLite in the data directory, or
            PostgreSQL) and prints its schema version. The worker does the same at start; a database newer than this
            program is refused.
            {CliOptions.SettingsNote}
            """);
        migrate.SetAction(_ =>
        {
            using var host = WorkerConfig.Build(settings);
            var store = (StateStore)host.Services.GetRequiredService<IStateStore>();
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"State store {store.Location}: schema version {store.SchemaVersion}."));
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(migrate);

        var copy = new Command("copy", $"""
            Copies this instance's SQLite state (DataDirectory/state.db: ledger, audit trail, web app rows, thread memory,
            examples, corrections, thresholds) into an empty PostgreSQL database, in one transaction, and verifies the row
            count of every table. Stop the worker first. Without --to, the configured SmartMail:State connection string
            (ConnectionStringFile or the environment) is the target, which keeps the password off the command line.
            {CliOptions.SettingsNote}
            """);
        var to = new Option<string>("--to") { Description = "The target database, as an Npgsql connection string.", HelpName = "CONNECTION" };
        copy.Options.Add(to);
        copy.SetAction(parse =>
        {
            using var host = WorkerConfig.Build(settings);
            var options = BackupCommand.OptionsWithoutSideEffects(host);
            var target = parse.GetValue(to) ?? (options.State.IsPostgreSql ? options.State.ResolveConnectionString()
                : throw new UsageException("name the PostgreSQL database with --to, or configure it as SmartMail:State (Provider=PostgreSql)."));
            var sqlite = StateStores.SqlitePath(options.DataDirectory);
            if (File.Exists(sqlite))
            {
                // A files registry of an earlier SmartMail goes into state.db first, so that the copy carries it.
                using var source = new SqliteStateStore(sqlite);
                new SmartMail.Worker.Learning.ModelRegistry(source, Path.Combine(options.DataDirectory, "models"), options.ModelPath).ImportFiles();
            }
            var (instance, copied) = StateCopy.Copy(sqlite, target);
            foreach (var (table, rows) in copied)
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{table,-16} {rows,10} rows"));
            }
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Copied {copied.Sum(c => c.Rows)} rows; every table's count matches. Set SmartMail:State:InstanceId={instance} on this instance: its IMAP claims carry that id."));
            return ExitCodes.Ok;
        });
        command.Subcommands.Add(copy);
        return command;
    }
}
