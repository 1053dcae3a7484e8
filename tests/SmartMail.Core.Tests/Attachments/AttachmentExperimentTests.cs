using SmartMail.Benchmarks;

namespace SmartMail.Core.Tests.Attachments;

/// <summary>
/// A short run of <c>benchmarks/attachments/run.sh</c>: on mails that say nothing but carry a SIB-200 Danish sentence in
/// a PDF, DOCX or ODT attachment, the model with attachment text clearly beats the one without.
/// </summary>
public sealed class AttachmentExperimentTests
{
    [Fact]
    public void Measure_SilentMailsWithInformativeAttachments_AttachmentTextWins()
    {
        var folder = FindSib200();
        if (folder is null)
        {
            Assert.Skip("../shared/data/sib200_danish not found: the attachment experiment needs the SIB-200 Danish sentences (set SMARTMAIL_DATA)");
        }

        var result = AttachmentExperiment.Measure(folder, 200);

        Assert.Equal(0, result.SkippedAttachments);
        Assert.True(result.AccuracyWith >= result.AccuracyWithout + 0.2,
            $"with attachment text {result.AccuracyWith:0.000}, without {result.AccuracyWithout:0.000}");
        Assert.True(result.AccuracyWith > result.Majority + 0.1,
            $"with attachment text {result.AccuracyWith:0.000}, majority class {result.Majority:0.000}");
    }

    private static string? FindSib200()
    {
        var fromEnv = Environment.GetEnvironmentVariable("SMARTMAIL_DATA");
        var starts = string.IsNullOrWhiteSpace(fromEnv) ? [AppContext.BaseDirectory, Directory.GetCurrentDirectory()] : new[] { fromEnv };
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (var candidate in new[] { Path.Combine(dir.FullName, "sib200_danish"), Path.Combine(dir.FullName, "shared", "data", "sib200_danish") })
                {
                    if (File.Exists(Path.Combine(candidate, "train.tsv")) && File.Exists(Path.Combine(candidate, "test.tsv")))
                    {
                        return candidate;
                    }
                }
            }
        }
        return null;
    }
}
