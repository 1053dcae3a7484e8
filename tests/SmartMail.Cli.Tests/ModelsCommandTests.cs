using System.IO.Compression;
using System.Text.Json.Nodes;
using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Cli.Tests;

/// <summary><c>smartmail models promote|rollback</c> change the registry in the state store, each with one audit row in the store and in audit.jsonl.</summary>
public sealed class ModelsCommandTests
{
    [Fact]
    public async Task PromoteThenRollback_EachWritesOneAuditRow_InTheStoreAndInAuditJsonl()
    {
        var dir = CliProcess.TempDirectory();
        var data = Path.Combine(dir, "data");
        DataDirectoryPermissions.Prepare(data, "state.db");
        var candidate = WithVersion(dir, "cli-test-candidate");
        var options = new SmartMailOptions { DataDirectory = data, ModelPath = CliProcess.DefaultModel };
        string seedVersion;
        using (var store = new SqliteStateStore(StateStores.SqlitePath(data)))
        using (var bundle = ModelBundle.Load(candidate))
        {
            var registry = ModelRegistry.For(options, store);
            registry.Add(bundle, "candidate");
            seedVersion = registry.CurrentVersion();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        string[] settings = [$"--SmartMail:DataDirectory={data}", $"--SmartMail:ModelPath={CliProcess.DefaultModel}"];

        var promote = await CliProcess.RunAsync(dir, ["models", "promote", "cli-test-candidate", "--reason", "better", .. settings]);
        var rollback = await CliProcess.RunAsync(dir, ["models", "rollback", "--reason", "worse", .. settings]);

        Assert.True(promote.ExitCode == 0, promote.ToString());
        Assert.True(rollback.ExitCode == 0, rollback.ToString());
        var lines = File.ReadAllLines(Path.Combine(data, "audit.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([("promote", "cli-test-candidate"), ("rollback", seedVersion)],
            lines.Select(l => ((string)l["outcome"]!, (string)l["modelVersion"]!)));
        using (var store = new SqliteStateStore(StateStores.SqlitePath(data)))
        {
            Assert.Equal([("promote", "cli-test-candidate", "cli"), ("rollback", seedVersion, "cli")],
                store.ReadAudit().Select(a => (a.Outcome, a.ModelVersion!, a.Source)));
            Assert.Equal(["seed", "promote", "rollback"], store.ReadModels().History.Select(e => e.Action));
            Assert.Equal(seedVersion, store.CurrentModel()!.Version);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }

    // The shipped model under another version.
    private static string WithVersion(string dir, string version)
    {
        var path = Path.Combine(dir, version + ".zip");
        File.Copy(CliProcess.DefaultModel, path);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.GetEntry("manifest.json")!; // every bundle has one
        JsonNode manifest;
        using (var read = entry.Open())
        {
            manifest = JsonNode.Parse(read)!;
        }
        manifest["modelVersion"] = version;
        entry.Delete();
        using var write = new StreamWriter(zip.CreateEntry("manifest.json").Open());
        write.Write(manifest.ToJsonString());
        return path;
    }
}
