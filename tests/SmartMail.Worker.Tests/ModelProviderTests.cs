using System.IO.Compression;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using SmartMail.Core.Classification;
using SmartMail.Worker.Options;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Processing;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests;

public sealed class ModelProviderTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-models-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void RefreshIfChanged_NewBundle_IsSwappedIn_CorruptOne_IsRefusedAndTheOldKept()
    {
        var path = Path.Combine(_dir.FullName, "current.zip");
        File.Copy(model.ModelPath, path);
        using var provider = new ModelProvider(new SmartMailOptions { ModelPath = path }, NullLogger<ModelProvider>.Instance);
        var first = provider.Policy.Model!.Manifest.ModelVersion;
        Assert.False(provider.RefreshIfChanged());

        WithVersion(path, "retrained-v2");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        Assert.True(provider.RefreshIfChanged());
        Assert.Equal("retrained-v2", provider.Policy.Model!.Manifest.ModelVersion);

        File.WriteAllBytes(path, [1, 2, 3, 4]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));
        Assert.False(provider.RefreshIfChanged());
        Assert.Equal("retrained-v2", provider.Policy.Model!.Manifest.ModelVersion);
        Assert.NotEqual(first, provider.Policy.Model!.Manifest.ModelVersion);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Constructor_CorruptOrMissingBundleAtStart_NamesTheSetting(bool corrupt)
    {
        var path = Path.Combine(_dir.FullName, "broken.zip");
        if (corrupt)
        {
            File.WriteAllText(path, "not a zip");
        }

        var ex = Assert.Throws<ModelBundleException>(() => new ModelProvider(new SmartMailOptions { ModelPath = path }, NullLogger<ModelProvider>.Instance));

        Assert.StartsWith("SmartMail:ModelPath:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefreshIfChanged_APromotionsSlowLoadOverlapsTheRollbackAfterIt_TheRegistrysHeadIsServed()
    {
        // The browser suite's failure (2026-12-07): the promotion's load, begun by one mailbox's worker, finished after
        // another worker had read and swapped in the rollback; the provider then served the promoted model for good.
        var options = new SmartMailOptions { DataDirectory = Path.Combine(_dir.FullName, "data"), ModelPath = model.ModelPath };
        using var store = new SqliteStateStore(Path.Combine(_dir.FullName, "state.db"));
        var registry = ModelRegistry.For(options, store);
        registry.EnsureSeeded();
        var served = registry.CurrentVersion();
        var candidatePath = Path.Combine(_dir.FullName, "candidate.zip");
        File.Copy(model.ModelPath, candidatePath);
        WithVersion(candidatePath, "candidate-v2");
        using (var candidate = ModelBundle.Load(candidatePath))
        {
            registry.Add(candidate, "candidate");
        }
        var slow = SlowBundleStore.Wrap(store, "candidate-v2");
        using var provider = new ModelProvider(options, NullLogger<ModelProvider>.Instance, store: (IStateStore)slow);

        registry.Promote("candidate-v2", "test");
        File.Delete(Path.Combine(registry.Directory, ModelRegistry.CacheFile("candidate-v2"))); // its load reads the store: slow
        var promotionRead = Task.Run(provider.RefreshIfChanged, TestContext.Current.CancellationToken);
        Assert.True(slow.Entered.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken), "the promotion's load never began");
        registry.Rollback("test");
        var rollbackRead = Task.Run(provider.RefreshIfChanged, TestContext.Current.CancellationToken);
        await Task.WhenAny(rollbackRead, Task.Delay(500, TestContext.Current.CancellationToken)); // unfixed, the rollback lands first
        slow.Release.Set();
        await Task.WhenAll(promotionRead, rollbackRead);

        // A refresh begun after the rollback has returned: what is decided next uses the rollback's model.
        Assert.Equal(served, registry.CurrentVersion());
        Assert.Equal(served, provider.Policy.Model!.Manifest.ModelVersion);
    }

    /// <summary>A state store whose bundle of one version is read only when the test lets it.</summary>
    public class SlowBundleStore : DispatchProxy
    {
        private IStateStore _inner = null!;
        private string _version = string.Empty;

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public static SlowBundleStore Wrap(IStateStore inner, string version)
        {
            var proxy = (SlowBundleStore)(object)Create<IStateStore, SlowBundleStore>();
            proxy._inner = inner;
            proxy._version = version;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(IModelStore.ReadModelBundle) && args?[0] as string == _version)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(30));
            }
            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }

    private static void WithVersion(string path, string version)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var entry = zip.GetEntry("manifest.json")!;
        JsonNode manifest;
        using (var reader = entry.Open())
        {
            manifest = JsonNode.Parse(reader)!;
        }
        entry.Delete();
        manifest["modelVersion"] = version;
        using var writer = new StreamWriter(zip.CreateEntry("manifest.json").Open());
        writer.Write(manifest.ToJsonString());
    }
}
