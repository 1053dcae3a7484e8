using System.Text.Json;

namespace SmartMail.Cli.Tests;

/// <summary><c>classify --explain</c> names the terms that come from attachments and says what was read or skipped per attachment.</summary>
public sealed class ClassifyExplainAttachmentTests
{
    private static string Form => Path.Combine(CliProcess.RepositoryRoot, "tests", "SmartMail.Cli.Tests", "TestData", "form-with-attachments.eml");

    [Fact]
    public async Task Classify_Explain_MarksAttachmentTermsAndListsEachAttachment()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "classify", "--model", CliProcess.DefaultModel, "--explain", Form);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("\"launch\"", result.Stdout, StringComparison.Ordinal);
        Assert.Matches("\"launch\" [0-9.]+ \\[bilag\\]", result.Stdout);
        Assert.Contains("decided by attachment terms: launch", result.Stdout, StringComparison.Ordinal);
        // One line per attachment: the PDF read (or skipped with its reason), the encrypted one skipped, the image only named.
        Assert.Matches("bilag: launch-form.pdf: (read as pdf, 1 of 1 pages|skipped: )", result.Stdout);
        Assert.Contains("bilag: krypteret.pdf: skipped: encrypted", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("bilag: photo.png: name only", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Classify_ExplainJson_CarriesAttachmentTermsAndAttachments()
    {
        var result = await CliProcess.RunAsync(CliProcess.TempDirectory(), "classify", "--model", CliProcess.DefaultModel, "--explain", "--json", Form);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Stdout);
        var root = doc.RootElement;
        Assert.Equal("Model", root.GetProperty("decision").GetProperty("source").GetString());
        Assert.Contains("launch", root.GetProperty("decision").GetProperty("attachmentTerms").EnumerateArray().Select(t => t.GetString()));
        var launch = Assert.Single(root.GetProperty("explanation").EnumerateArray(), e => e.GetProperty("term").GetString() == "launch");
        Assert.True(launch.GetProperty("attachment").GetBoolean());
        // Every term says whether it came from an attachment (with the shipped model all top terms of this form may).
        Assert.All(root.GetProperty("explanation").EnumerateArray(), e => Assert.Contains(e.GetProperty("attachment").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False }));
        var attachments = root.GetProperty("attachments").EnumerateArray().ToList();
        Assert.Equal(["launch-form.pdf", "krypteret.pdf", "photo.png"], attachments.Select(a => a.GetProperty("name").GetString()));
        Assert.Equal("encrypted", attachments[1].GetProperty("skipped").GetString());
        Assert.False(attachments[2].GetProperty("read").GetBoolean());
    }
}
