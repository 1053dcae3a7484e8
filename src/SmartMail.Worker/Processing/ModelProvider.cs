using Microsoft.Extensions.Logging;
using SmartMail.Core.Classification;
using SmartMail.Core.Routing;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Processing;

/// <summary>
/// Holds the routing policy with the model in force, and swaps in a new model when the bundle file changes. The model
/// in force is the registry's promoted model (<c>DataDirectory/models/current.zip</c>) once there is one, else
/// <see cref="SmartMailOptions.ModelPath"/>. A bundle that fails to load at start stops the worker with a message naming the setting; one that fails
/// at a swap is refused with one log line and the model in force is kept (the refused file is not tried again until it
/// changes). <see cref="ModelBundle.Load"/> bounds what a bundle may unpack and turns every schema or manifest error
/// into a <see cref="ModelBundleException"/>.
/// </summary>
public sealed class ModelProvider : IDisposable
{
    private readonly SmartMailOptions _options;
    private readonly Learning.ModelRegistry _registry;
    private readonly ILogger _logger;
    private readonly IThresholdOverrides? _overrides;
    private readonly Lock _gate = new();
    private RoutingPolicy _policy;
    private DateTime _loadedWriteTime;
    private string _loadedPath;

    /// <summary>Loads the configured model.</summary>
    /// <param name="options">Options.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="overrides">Thresholds raised in service, applied by every policy this provider builds; none when <see langword="null"/>.</param>
    /// <exception cref="ModelBundleException">The bundle cannot be served; the message names SmartMail:ModelPath.</exception>
    public ModelProvider(SmartMailOptions options, ILogger<ModelProvider> logger, IThresholdOverrides? overrides = null)
    {
        _overrides = overrides;
        _options = options;
        _logger = logger;
        _registry = Learning.ModelRegistry.For(options);
        _loadedPath = _registry.ActivePath;
        _loadedWriteTime = File.GetLastWriteTimeUtc(_loadedPath);
        try
        {
            _policy = new RoutingPolicy(options.Rules, ModelBundle.Load(_loadedPath), options.CaseNumbers, _overrides);
        }
        catch (ModelBundleException ex)
        {
            var setting = _loadedPath == options.ModelPath ? "ModelPath" : "DataDirectory (models/current.zip; 'smartmail models rollback' or promote another)";
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

    /// <summary>Loads the bundle again if its file changed; keeps the current model when the new one is unusable.</summary>
    /// <returns><see langword="true"/> when a new model was swapped in.</returns>
    public bool RefreshIfChanged()
    {
        var path = _registry.ActivePath;
        var writeTime = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : _loadedWriteTime;
        if (writeTime == _loadedWriteTime && path == _loadedPath)
        {
            return false;
        }
        _loadedWriteTime = writeTime;
        _loadedPath = path;
        try
        {
            var policy = new RoutingPolicy(_options.Rules, ModelBundle.Load(path), _options.CaseNumbers, _overrides);
            lock (_gate)
            {
                // The old model is not disposed: a decision in flight may still be using it.
                _policy = policy;
            }
            Log.ModelLoaded(_logger, policy.Model!.Manifest.ModelVersion, policy.Model.Model.Labels.Count);
            return true;
        }
        catch (Exception ex) when (ex is ModelBundleException or ArgumentException or InvalidOperationException)
        {
            // One line, no stack trace: ModelBundle.Load refuses every bundle it cannot serve with a one-line message.
            Log.ModelSwapRefused(_logger, string.Join(' ', ex.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)));
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Policy.Model?.Dispose();
}
