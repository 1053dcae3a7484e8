using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Web;
using SmartMail.Worker.Oversight;
using SmartMail.Worker.Privacy;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.StateStores;

/// <summary><c>SmartMail:State</c>: its validation (each failure names the setting), where the password may come from, and the instance id.</summary>
public sealed class StateSettingsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-state-settings-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("Oracle", null, null, null, "SmartMail:State:Provider:")]
    [InlineData("PostgreSql", null, null, null, "SmartMail:State:ConnectionString:")]
    [InlineData("Sqlite", "Host=db;Database=smartmail", null, null, "SmartMail:State:ConnectionString:")]
    [InlineData("PostgreSql", "Host=db;Database=smartmail", null, "far-too-long", "SmartMail:State:InstanceId:")]
    [InlineData("PostgreSql", "Host=db", null, null, "SmartMail:State:ConnectionString:")]
    [InlineData("PostgreSql", "Hots=db;Database=smartmail", null, null, "SmartMail:State:ConnectionString:")]
    [InlineData("PostgreSql", null, "missing-file", null, "SmartMail:State:ConnectionStringFile:")]
    [InlineData("PostgreSql", "Host=db;Database=smartmail", "missing-file", null, "SmartMail:State:ConnectionStringFile:")]
    public void Validate_BadSettings_OneLineNamingTheSetting(string provider, string? connection, string? file, string? instance, string setting)
    {
        var options = new StateOptions { Provider = provider, ConnectionString = connection, ConnectionStringFile = file, InstanceId = instance };

        var failure = Assert.Single(options.Validate());

        Assert.StartsWith(setting, failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public void Validate_DefaultsAndAGoodPostgreSqlSetting_Pass()
    {
        var file = Path.Combine(_dir.FullName, "connection");
        File.WriteAllText(file, "Host=db.example;Database=smartmail;Username=sm;Password=s3cret\n");

        Assert.Empty(new StateOptions().Validate());
        Assert.Empty(new StateOptions { ConnectionStringFile = "", InstanceId = "" }.Validate()); // empty, as the full sample shows them: unset
        Assert.Empty(new StateOptions { Provider = "postgresql", ConnectionString = "Host=db;Database=smartmail;Password=x", InstanceId = "web1" }.Validate());
        var fromFile = new StateOptions { Provider = "PostgreSql", ConnectionStringFile = file };
        Assert.Empty(fromFile.Validate());
        Assert.Equal("Host=db.example;Database=smartmail;Username=sm;Password=s3cret", fromFile.ResolveConnectionString());
    }

    [Fact]
    public void PasswordInSettingsFile_IsRefusedNamingTheSetting_ButNotFromTheEnvironmentOrWithoutPassword()
    {
        var json = Path.Combine(_dir.FullName, "appsettings.json");
        File.WriteAllText(json, """{ "SmartMail": { "State": { "Provider": "PostgreSql", "ConnectionString": "Host=db;Database=sm;Password=s3cret" } } }""");
        var withFile = new ConfigurationBuilder().AddJsonFile(json).Build();
        var withoutPassword = Path.Combine(_dir.FullName, "other.json");
        File.WriteAllText(withoutPassword, """{ "SmartMail": { "State": { "ConnectionString": "Host=db;Database=sm;Username=sm" } } }""");
        var environment = new ConfigurationBuilder().AddJsonFile(withoutPassword)
            .AddInMemoryCollection([new("SmartMail:State:ConnectionString", "Host=db;Database=sm;Password=s3cret")]).Build();

        var refused = StateOptions.PasswordInSettingsFile(withFile);
        var failures = new StateSettingsValidator(withFile).Validate(null, new SmartMailOptions { State = { Provider = "PostgreSql", ConnectionString = "Host=db;Database=sm;Password=s3cret" } });

        Assert.NotNull(refused);
        Assert.StartsWith("SmartMail:State:ConnectionString: a password in ", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", refused, StringComparison.Ordinal);
        Assert.Contains(refused, failures.Failures!);
        Assert.Null(StateOptions.PasswordInSettingsFile(environment));
    }

    [Fact]
    public void ResolveInstanceId_IsStablePerDataDirectory_AndTheSettingWins()
    {
        var state = new StateOptions();
        var a = state.ResolveInstanceId(Path.Combine(_dir.FullName, "a"));

        Assert.Matches("^[0-9a-f]{8}$", a);
        Assert.Equal(a, new StateOptions().ResolveInstanceId(Path.Combine(_dir.FullName, "a")));
        Assert.NotEqual(a, state.ResolveInstanceId(Path.Combine(_dir.FullName, "b")));
        Assert.Equal("web1", new StateOptions { InstanceId = "web1" }.ResolveInstanceId(_dir.FullName));
    }
}

/// <summary>The worker's host on <c>SmartMail:State:Provider=PostgreSql</c>, against a real PostgreSQL.</summary>
public sealed class PostgreSqlHostTests(PostgreSqlFixture postgres, DefaultModelFixture model)
    : IClassFixture<PostgreSqlFixture>, IClassFixture<DefaultModelFixture>
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private Microsoft.Extensions.Hosting.IHost Host(string connection, string? instance = null) => WorkerHost.CreateBuilder(
    [
        "--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-pg-host-").FullName,
        "--SmartMail:State:Provider=PostgreSql", "--SmartMail:State:ConnectionString=" + connection,
        .. instance is null ? Array.Empty<string>() : ["--SmartMail:State:InstanceId=" + instance],
    ], watch: false).Build();

    [Fact]
    public async Task Host_WithPostgreSql_RegistersTheSharedStore_AndTheLearningTablesAreShared()
    {
        var connection = await postgres.NewDatabaseAsync();
        using var first = Host(connection, "one");
        using var second = Host(connection);

        var store = first.Services.GetRequiredService<IStateStore>();
        var other = second.Services.GetRequiredService<IStateStore>();
        first.Services.GetRequiredService<ExampleStore>().SaveDecided(
            [new NewExample("post", "fp1", "sm-fp1", "Housing", "v1", new TextInput("subject", "body"), null)], Now);
        first.Services.GetRequiredService<ExampleStore>().Correct(
            new Correction(Now, "post", "fp1", "sm-fp1", "Housing", "Housing", "Tax", "Tax", "someone", "cli", "v1"), null);

        Assert.IsType<PostgreSqlStateStore>(store);
        Assert.Equal("one", store.InstanceId);
        Assert.Matches("^[0-9a-f]{8}$", other.InstanceId);
        Assert.StartsWith("postgresql://127.0.0.1:", store.Location, StringComparison.Ordinal);
        // The other instance's learning loop sees the first one's correction and labeled example.
        var corrections = second.Services.GetRequiredService<ExampleStore>().ReadCorrections();
        Assert.Equal("Tax", Assert.Single(corrections).ToLabel);
        Assert.Equal("Tax", second.Services.GetRequiredService<ExampleStore>().LabelOf("post", "fp1"));
    }

    // The web app's reads on the shared database: paging, a sender part (case-insensitive, ILIKE), a decision-id prefix, the detail.
    [Fact]
    public async Task OversightQueries_OnPostgreSql_FindAndShowWhatTheProcessorDecided()
    {
        var connection = await postgres.NewDatabaseAsync();
        var root = Directory.CreateTempSubdirectory("smartmail-pg-oversight-");
        var options = new SmartMailOptions { DataDirectory = Path.Combine(root.FullName, "data"), ModelPath = model.ModelPath };
        Directory.CreateDirectory(options.InboxPath);
        for (var i = 0; i < 6; i++)
        {
            File.WriteAllText(Path.Combine(options.InboxPath, $"{i:D3}.eml"), i % 2 == 0 ? Mails.Space(i) : Mails.Car(i));
        }
        using var store = new PostgreSqlStateStore(connection, "one");
        using var examples = new ExampleStore(store);
        var policy = new RoutingPolicy([], model.Bundle);
        await new MailProcessor(store, () => policy, new MailExtractor(), new FolderJournalSink(options.JournalPath), options,
            TimeProvider.System, NullLogger.Instance, new WorkerMetrics(), examples)
            .DrainAsync(new DropFolderSource("drop", options.InboxPath), TestContext.Current.CancellationToken);
        var queries = new OversightQueries(store, examples, options, () => model.Bundle, null, TimeProvider.System);

        var all = queries.FindMail(new MailQuery(["drop"]), 0, 50);
        var cars = queries.FindMail(new MailQuery(["drop"], Sender: "EXAMPLE.NET"), 0, 50);
        var page = queries.FindMail(new MailQuery(["drop"]), 2, 2);
        var prefix = queries.FindMail(new MailQuery(["drop"], DecisionId: all.Items[0].DecisionId[..10]), 0, 50);

        Assert.Equal(6, all.Total);
        Assert.Equal(3, cars.Total);
        Assert.All(cars.Items, m => Assert.Contains("example.net", m.Sender, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(all.Items.Skip(2).Take(2).Select(m => m.DecisionId), page.Items.Select(m => m.DecisionId));
        Assert.Equal(all.Items[0].DecisionId, Assert.Single(prefix.Items).DecisionId);
        Assert.NotNull(queries.GetMail(all.Items[0].DecisionId));

        // A person's request on the shared database: the index, the places, the erasure, the compliance figures.
        using var privacy = new PrivacyStore(store);
        var space = privacy.FindByText("shuttle LAUNCH");
        var target = space[0];
        privacy.Index([new IndexedMail(target, [new PersonKey("cpr", "h1")], Now)]);
        var places = privacy.PlacesOf(target, "example-hash");
        var found = privacy.FindByHash(["h1"], "cpr");
        var erased = privacy.EraseMails([target], [], "req-1", Now);
        using var figures = privacy.Figures();

        Assert.Equal(3, space.Count);
        Assert.Equal(target.DecisionId, Assert.Single(found).DecisionId);
        Assert.Contains(places, p => p.Kind == PlaceKind.Summary);
        Assert.Contains(places, p => p.Kind == PlaceKind.Example);
        Assert.True(erased >= 3, $"{erased} rows changed");
        Assert.Empty(privacy.FindByHash(["h1"], null));
        Assert.DoesNotContain(privacy.FindByText("shuttle"), m => m.DecisionId == target.DecisionId);
        Assert.All(privacy.LedgerOf(target), row => Assert.Contains("erasedUtc", row.DecisionJson, StringComparison.Ordinal));
        Assert.Contains(privacy.PlacesOf(target, "example-hash"), p => p.Kind == PlaceKind.Ledger); // the exactly-once row stays, stripped
        Assert.Equal(6, figures.Oversight().Sum(m => m.Total));
        root.Delete(recursive: true);
    }

    [Fact]
    public void Host_WithPostgreSqlAndNoConnectionString_FailsAtStartupNamingTheSetting()
    {
        using var host = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=" + model.ModelPath,
            "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-pg-host-").FullName, "--SmartMail:State:Provider=PostgreSql"], watch: false).Build();

        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<SmartMailOptions>>().Value);

        Assert.StartsWith("SmartMail:State:ConnectionString:", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }
}
