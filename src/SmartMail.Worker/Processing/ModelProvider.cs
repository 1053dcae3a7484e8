using Microsoft.Extensions.Logging;
using SmartMail.Core.Classification;
using SmartMail.Core.Routing;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Processing;

/// <summary>
/// Holds the routing policy with the model in force, and swaps in a new model when the registry serves another one. The
/// model in force is the model registry's (in the state store, so a promotion on any instance of a fleet reaches this
/// one) once anything is promoted, read into <c>DataDirectory/models/cache/</c>; until then
/// <see cref="SmartMailOptions.ModelPath"/> (swapped when the file changes). <see cref="RefreshIfChanged"/> asks the store
/// for the registry's last change (a row, not the bundle) and reads the bundle only when it changed. A bundle that fails to
/// load at start stops the worker with a message naming the setting; one that fails at a swap is refused with one log line
/// and the model in force is kept (the refused version is not tried again until the registry changes).
/// <see cref="ModelBundle.Load"/> bounds what a bundle may unpack and turns every schema or manifest error into a <see cref="ModelBundleException"/>.
/// </summary>
public sealed class ModelProvider : IDisposable
{
    private readonly SmartMailOptions _options;
    private readonly Learning.ModelRegistry? _registry;
    private readonly ILogger _logger;
    private readonly IThresholdOverrides? _overrides;
    private readonly Lock _gate = new();
    private readonly Lock _refresh = new();
    private RoutingPolicy _policy;
    private DateTime _loadedWriteTime;
    private long? _loadedSeq;

    /// <summary>Loads the model in force.</summary>
    /// <param name="options">Options.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="overrides">Thresholds raised in service, applied by every policy this provider builds; none when <see langword="null"/>.</param>
    /// <param name="store">The state store with the model registry; none (only <see cref="SmartMailOptions.ModelPath"/> is served) when <see langword="null"/>.</param>
    /// <exception cref="ModelBundleException">The bundle cannot be served; the message names the setting.</exception>
    public ModelProvider(SmartMailOptions options, ILogger<ModelProvider> logger, IThresholdOverrides? overrides = null, State.IStateStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _overrides = overrides;
        _options = options;
        _logger = logger;
        _registry = store is null ? null : Learning.ModelRegistry.For(options, store);
        var head = _registry?.Store.CurrentModel();
        _loadedSeq = head?.Seq;
        var path = head is null ? options.ModelPath : _registry!.PathOf(head.Version);
        _loadedWriteTime = File.GetLastWriteTimeUtc(path);
        try
        {
            _policy = new RoutingPolicy(options.Rules, ModelBundle.Load(path), options.CaseNumbers, _overrides);
        }
        catch (ModelBundleException ex)
        {
            var setting = head is null ? "ModelPath"
                : $"State (the promoted model {head.Version} in the state store's model registry: 'smartmail models rollback' or promote another)";
            throw new ModelBundleException($"{SmartMailOptions.SectionName}:{setting}: {ex.Message}", ex);
        }
        Log.ModelLoaded(_logger, _policy.Model!.Manifest.ModelVersion, _policy.Model.Model.Labels.Count);
    }

    /// <summary>The policy in force.</summary>
    public RoutingPolicy Policy
    {
        get
        {
            lock (_gate)
            {
                return _policy;
            }
        }
    }

    /// <summary>Loads the registry's model if it changed (or the configured file, until something is promoted); keeps the current model when the new one is unusable.</summary>
    /// <returns><see langword="true"/> when a new model was swapped in.</returns>
    /// <remarks>
    /// One refresh at a time (every mailbox's worker, the drop folder and the learning loop call it): two refreshes that
    /// overlapped could finish in the wrong order, a promotion's slower load replacing the rollback read after it, and the
    /// provider would then serve the promoted model while believing it serves the registry's head, until the next change.
    /// </remarks>
    public bool RefreshIfChanged()
    {
        lock (_refresh)
        {
            return Refresh();
        }
    }

    private bool Refresh()
    {
        try
        {
            string path;
            if (_registry?.Store.CurrentModel() is { } head)
            {
                if (head.Seq == _loadedSeq)
                {
                    return false;
                }
                path = _registry.PathOf(head.Version);
                _loadedSeq = head.Seq; // tried once: a refused version is not read again until the registry changes
            }
            else
            {
                path = _options.ModelPath;
                var writeTime = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : _loadedWriteTime;
                if (writeTime == _loadedWriteTime)
                {
                    return false;
                }
                _loadedWriteTime = writeTime;
            }
            var policy = new RoutingPolicy(_options.Rules, ModelBundle.Load(path), _options.CaseNumbers, _overrides);
            lock (_gate)
            {
                // The old model is not disposed: a decision in flight may still be using it.
                _policy = policy;
            }
            Log.ModelLoaded(_logger, policy.Model!.Manifest.ModelVersion, policy.Model.Model.Labels.Count);
            return true;
        }
        catch (Exception ex) when (ex is ModelBundleException or ArgumentException or InvalidOperationException or IOException)
        {
            // One line, no stack trace: ModelBundle.Load refuses every bundle it cannot serve with a one-line message; a store
            // that cannot be read now is asked again at the next refresh.
            Log.ModelSwapRefused(_logger, string.Join(' ', ex.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)));
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Policy.Model?.Dispose();
}
