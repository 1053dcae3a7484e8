using SmartMail.Fuzz;

namespace SmartMail.Core.Tests.Mime;

/// <summary>Every file of the fuzzing corpus (tests/SmartMail.Fuzz/corpus: seeds and any finding added) through the fuzzer's own invariant check.</summary>
public sealed class FuzzCorpusReplayTests
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "FuzzCorpus");

    public static TheoryData<string> Files() => [.. Directory.GetFiles(Corpus).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void Corpus_HasSeeds() => Assert.True(Directory.GetFiles(Corpus).Length >= 30);

    [Theory]
    [MemberData(nameof(Files))]
    public void Extract_CorpusFile_KeepsEveryInvariant(string file) =>
        ExtractionInvariants.Check(File.ReadAllBytes(Path.Combine(Corpus, file)));
}
