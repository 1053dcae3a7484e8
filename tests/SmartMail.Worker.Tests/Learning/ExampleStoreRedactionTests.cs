using SmartMail.Core.Classification;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Tests.Faults;

namespace SmartMail.Worker.Tests.Learning;

public sealed class ExampleStoreRedactionTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("smartmail-example-redaction-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(12)]
    public void SaveDecided_CprAcrossTheLengthLimit_NoPartOfItIsKept(int before)
    {
        // The number straddles MaxBodyLength: cut first and redacted after, "31.12.75-43" would be kept.
        const string cpr = "31.12.75-4321";
        var body = new string('x', ExampleStore.MaxBodyLength - before - 1) + " " + cpr + " og mere tekst";
        using var store = new ExampleStore(Path.Combine(_dir.FullName, "state.db"));

        store.SaveDecided([new NewExample("mb", "fp", "sm-fp", "x", "v1", new TextInput("emne", body), null)], T0);

        var kept = Assert.Single(store.ReadLabeled(T0)).Document.Text.Body;
        Assert.True(kept.Length <= ExampleStore.MaxBodyLength);
        Assert.DoesNotContain("31.12.75", kept, StringComparison.Ordinal);
        Assert.DoesNotContain("311275", kept, StringComparison.Ordinal);
        Assert.False(CprCorpus.Leaks(kept));
    }
}
