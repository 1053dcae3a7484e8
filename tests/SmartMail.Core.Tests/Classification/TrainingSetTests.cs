using SmartMail.Core.Classification;
using SmartMail.Core.Mime;

namespace SmartMail.Core.Tests.Classification;

public sealed class TrainingSetTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-data-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void FromCsv_QuotedFieldsWithSeparatorsQuotesAndNewlines_AreRead()
    {
        var path = Path.Combine(_dir.FullName, "export.csv");
        File.WriteAllText(path, "id,Tekst,Afdeling\n1,\"Hej, jeg har en \"\"carport\"\"\nsag\",byggeri\n2,Restance på ejendomsskat,skat\n3,,skat\n");

        var set = TrainingSet.FromCsv(path, "tekst", "afdeling");

        Assert.Equal(2, set.Documents.Count);
        Assert.Equal(1, set.Skipped);
        Assert.Equal("Hej, jeg har en \"carport\"\nsag", set.Documents[0].Text.Body);
        Assert.Equal("byggeri", set.Documents[0].Label);
        Assert.Equal("export.csv", set.SourceName);
    }

    [Fact]
    public void FromCsv_TsvByExtension_UsesTabs()
    {
        var path = Path.Combine(_dir.FullName, "export.tsv");
        File.WriteAllText(path, "label\ttext\nskat\tbetaling, rykker\n");

        var set = TrainingSet.FromCsv(path, "text", "label");

        Assert.Equal("betaling, rykker", Assert.Single(set.Documents).Text.Body);
    }

    [Fact]
    public void FromCsv_MissingColumn_NamesItAndListsTheColumns()
    {
        var path = Path.Combine(_dir.FullName, "export.csv");
        File.WriteAllText(path, "id,body,label\n1,x,y\n");

        var ex = Assert.Throws<TrainingDataException>(() => TrainingSet.FromCsv(path, "text", "label"));

        Assert.Contains("text column 'text'", ex.Message);
        Assert.Contains("id, body, label", ex.Message);
    }

    [Fact]
    public void FromFolders_EmptyFolder_SaysWhatItExpected()
    {
        var ex = Assert.Throws<TrainingDataException>(() => TrainingSet.FromFolders(_dir.FullName, new MailExtractor(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("holds no messages", ex.Message);
    }

    [Fact]
    public void FromFolders_LabelFolders_ReadsEmlAndExtensionlessFilesButNotOthers()
    {
        var skat = Directory.CreateDirectory(Path.Combine(_dir.FullName, "skat"));
        var skole = Directory.CreateDirectory(Path.Combine(_dir.FullName, "skole"));
        File.WriteAllText(Path.Combine(skat.FullName, "1.eml"), "Subject: Restance\r\n\r\nJeg skylder ejendomsskat.\r\n");
        File.WriteAllText(Path.Combine(skole.FullName, "42"), "Subject: Skoleskift\r\n\r\nMin datter skal skifte klasse.\r\n");
        File.WriteAllText(Path.Combine(skole.FullName, "notes.json"), "{}");
        File.WriteAllText(Path.Combine(skole.FullName, ".hidden"), "x");

        var set = TrainingSet.FromFolders(_dir.FullName, new MailExtractor(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, set.Documents.Count);
        Assert.Equal("Restance", set.Documents.Single(d => d.Label == "skat").Text.Subject);
        Assert.Equal(new Dictionary<string, int> { ["skat"] = 1, ["skole"] = 1 }, set.LabelCounts);
    }

    [Fact]
    public void FromCsv_SemicolonSeparated_IsDetected()
    {
        // Danish Excel saves "CSV" with semicolons, since the comma is the decimal sign.
        var path = Path.Combine(_dir.FullName, "eksport.csv");
        File.WriteAllText(path, "Tekst;Afdeling\n\"Hej; jeg søger om byggetilladelse, 2,5 m\";byggeri\nRestance på ejendomsskat;skat\n");

        var set = TrainingSet.FromCsv(path, "tekst", "afdeling");

        Assert.Equal(2, set.Documents.Count);
        Assert.Equal("Hej; jeg søger om byggetilladelse, 2,5 m", set.Documents[0].Text.Body);
        Assert.Equal("skat", set.Documents[1].Label);
    }

    [Fact]
    public void FromCsv_TabSeparatedWithCsvExtension_IsDetected()
    {
        var path = Path.Combine(_dir.FullName, "export.csv");
        File.WriteAllText(path, "label\ttext\nskat\tbetaling, rykker; frist\n");

        var set = TrainingSet.FromCsv(path, "text", "label");

        Assert.Equal("betaling, rykker; frist", Assert.Single(set.Documents).Text.Body);
    }

    [Fact]
    public void FromCsv_ColumnsNotFoundWithAnySeparator_NamesTheSeparatorOption()
    {
        var path = Path.Combine(_dir.FullName, "export.csv");
        File.WriteAllText(path, "label|text\nskat|betaling\n");

        var ex = Assert.Throws<TrainingDataException>(() => TrainingSet.FromCsv(path, "text", "label"));

        Assert.Contains("--separator", ex.Message);
    }

    [Fact]
    public void FromFolders_EmptyAndBinaryFiles_AreSkippedCountedAndNamed()
    {
        var skat = Directory.CreateDirectory(Path.Combine(_dir.FullName, "skat")).FullName;
        File.WriteAllText(Path.Combine(skat, "1.eml"), "Subject: Restance\r\n\r\nJeg har fået en rykker for ejendomsskat.\r\n");
        File.WriteAllBytes(Path.Combine(skat, "empty.eml"), []);
        var binary = new byte[4096];
        new Random(7).NextBytes(binary);
        binary[10] = 0;
        File.WriteAllBytes(Path.Combine(skat, "scan"), binary);

        var set = TrainingSet.FromFolders(_dir.FullName, new MailExtractor(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Single(set.Documents);
        Assert.Equal(2, set.Skipped);
        Assert.Contains(set.SkippedFiles, f => f.Path.EndsWith("empty.eml", StringComparison.Ordinal) && f.Reason.Contains("empty", StringComparison.Ordinal));
        Assert.Contains(set.SkippedFiles, f => f.Path.EndsWith("scan", StringComparison.Ordinal) && f.Reason.Contains("binary", StringComparison.Ordinal));
    }

    [Fact]
    public void Fingerprint_SameDataInAnyOrder_IsTheSame()
    {
        var docs = SyntheticCorpus.Make(5, seed: 1);
        var reversed = Enumerable.Reverse(docs).ToList();

        Assert.Equal(SyntheticCorpus.Set(docs).Fingerprint(), SyntheticCorpus.Set(reversed).Fingerprint());
        Assert.NotEqual(SyntheticCorpus.Set(docs).Fingerprint(), SyntheticCorpus.Set(docs.Skip(1).ToList()).Fingerprint());
    }
}
