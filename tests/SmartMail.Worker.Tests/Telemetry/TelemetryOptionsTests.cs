using Microsoft.Extensions.Configuration;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Tests.Telemetry;

public sealed class TelemetryOptionsTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    private List<string> Failures(Action<TelemetryOptions> change)
    {
        var options = new SmartMailOptions { ModelPath = model.ModelPath };
        change(options.Telemetry);
        return [.. new SmartMailOptionsValidator().Validate(null, options).Failures ?? []];
    }

    [Fact]
    public void Defaults_AreOffAndValid()
    {
        var options = new TelemetryOptions();

        Assert.False(options.OtlpEnabled);
        Assert.False(options.PrometheusEnabled);
        Assert.Empty(Failures(_ => { }));
    }

    [Theory]
    [InlineData("http://127.0.0.1:9464/metrics/")]
    [InlineData("http://localhost:9464/metrics/")]
    [InlineData("http://[::1]:9464/metrics/")]
    [InlineData("http://127.0.0.2:9464/")]
    public void PrometheusUrl_Loopback_IsValid(string url) =>
        Assert.Empty(Failures(t => t.PrometheusUrl = url));

    [Theory]
    [InlineData("http://+:9464/metrics/")]
    [InlineData("http://*:9464/metrics/")]
    [InlineData("http://0.0.0.0:9464/metrics/")]
    [InlineData("http://10.1.2.3:9464/metrics/")]
    [InlineData("http://smartmail.kommune.dk:9464/metrics/")]
    public void PrometheusUrl_NotLoopback_NeedsPrometheusAllowRemote(string url)
    {
        var failure = Assert.Single(Failures(t => t.PrometheusUrl = url));
        Assert.StartsWith("SmartMail:Telemetry:PrometheusUrl", failure, StringComparison.Ordinal);
        Assert.Contains("PrometheusAllowRemote", failure, StringComparison.Ordinal);

        Assert.Empty(Failures(t =>
        {
            t.PrometheusUrl = url;
            t.PrometheusAllowRemote = true;
        }));
    }

    [Theory]
    [InlineData("PrometheusUrl", "https://127.0.0.1:9464/metrics/")]
    [InlineData("PrometheusUrl", "http://127.0.0.1:9464/metrics")]
    [InlineData("PrometheusUrl", "127.0.0.1:9464")]
    [InlineData("OtlpEndpoint", "ftp://127.0.0.1:4318")]
    [InlineData("OtlpEndpoint", "collector:4318")]
    [InlineData("OtlpProtocol", "http/json")]
    [InlineData("OtlpHeaders", "api-key")]
    [InlineData("ServiceName", "smart mail")]
    [InlineData("MetricExportInterval", "00:00:00")]
    public void BadValue_FailsNamingTheSetting(string setting, string value)
    {
        var failures = Failures(t =>
        {
            var property = typeof(TelemetryOptions).GetProperty(setting)!;
            property.SetValue(t, property.PropertyType == typeof(TimeSpan) ? TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);
        });

        Assert.Contains(failures, f => f.StartsWith($"SmartMail:Telemetry:{setting}", StringComparison.Ordinal));
    }

    [Fact]
    public void PrometheusUrl_WithMetricsOff_NamesMetrics() =>
        Assert.Contains(Failures(t =>
        {
            t.PrometheusUrl = "http://127.0.0.1:9464/metrics/";
            t.Metrics = false;
        }), f => f.StartsWith("SmartMail:Telemetry:Metrics", StringComparison.Ordinal));

    [Fact]
    public void ShippedAppsettings_BindsTelemetryOff_AndValid()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(model.RepositoryRoot, "src", "SmartMail.Worker", "appsettings.json"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["SmartMail:ModelPath"] = model.ModelPath })
            .Build();
        var options = configuration.GetSection(SmartMailOptions.SectionName).Get<SmartMailOptions>(o => o.ErrorOnUnknownConfiguration = true)!;

        Assert.NotNull(configuration.GetSection("SmartMail:Telemetry").Value ?? configuration.GetSection("SmartMail:Telemetry")["OtlpProtocol"]);
        Assert.False(options.Telemetry.OtlpEnabled);
        Assert.False(options.Telemetry.PrometheusEnabled);
        Assert.True(new SmartMailOptionsValidator().Validate(null, options).Succeeded);
    }
}
