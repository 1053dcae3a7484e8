using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartMail.Worker.Options;

namespace SmartMail.Worker.Tests.Threads;

/// <summary>SmartMail:CaseNumbers, FollowThreads and Extraction: bound from configuration, checked at start naming the setting.</summary>
public sealed class ThreadSettingsTests(DefaultModelFixture model) : IClassFixture<DefaultModelFixture>
{
    [Fact]
    public void Bind_CaseNumbersWithDottedSeries_ThreadsAndExtraction()
    {
        var json = """
            { "SmartMail": {
                "FollowThreads": false,
                "CaseNumbers": [ { "Name": "kle", "Pattern": "\\b(\\d{2}\\.\\d{2})\\.\\d{2}\\b", "Series": { "27.24": "boligstoette", "02": "byggeri" } } ],
                "Extraction": { "ReadAttachments": false, "MaxAttachmentPages": 7 } } }
            """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var options = new SmartMailOptions { ModelPath = model.ModelPath };

        configuration.GetSection(SmartMailOptions.SectionName).Bind(options);

        Assert.False(options.FollowThreads);
        var rule = Assert.Single(options.CaseNumbers);
        Assert.Equal("boligstoette", rule.Series["27.24"]);
        Assert.Equal("byggeri", rule.Series["02"]);
        Assert.False(options.Extraction.ReadAttachments);
        Assert.Equal(7, options.Extraction.MaxAttachmentPages);
        Assert.True(new SmartMailOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("--SmartMail:CaseNumbers:0:Pattern=(", "SmartMail:CaseNumbers:0 ('kle'):Pattern")]
    [InlineData("--SmartMail:CaseNumbers:0:Series:9..1=x", "SmartMail:CaseNumbers:0 ('kle'):Series:9..1")]
    [InlineData("--SmartMail:Extraction:MaxAttachmentPages=0", "MaxAttachmentPages")]
    public void Host_BadCaseNumberOrExtractionSetting_FailsAtStartupNamingIt(string setting, string named)
    {
        using var host = WorkerHost.CreateBuilder(["--SmartMail:ModelPath=" + model.ModelPath, "--SmartMail:DataDirectory=" + Directory.CreateTempSubdirectory("smartmail-options-").FullName /* private: a world-readable one is refused */,
            "--SmartMail:CaseNumbers:0:Name=kle", "--SmartMail:CaseNumbers:0:Pattern=(\\d+)", "--SmartMail:CaseNumbers:0:Label=skat", setting],
            watch: false).Build();

        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<SmartMailOptions>>().Value);

        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }
}
