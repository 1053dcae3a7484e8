using SmartMail.Core.Classification;
using SmartMail.Core.Mime;

namespace SmartMail.Benchmarks;

/// <summary>Locates the repository, the default model, the sample messages and the shared corpora.</summary>
public static class BenchmarkData
{
    /// <summary>Mails per batch in the batched benchmarks (the reported time is per mail).</summary>
    public const int BatchSize = 256;

    /// <summary>The three sample messages in <c>TestData/</c>, without extension.</summary>
    public static readonly string[] SampleNames = ["plain-20news-2kb", "html-newsletter", "multipart-attachment"];

    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The directory holding <c>SmartMail.sln</c>.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The shipped default model.</summary>
    public static string DefaultModelPath => Path.Combine(RepoRoot, "models", "default", "smartmail-20news.zip");

    /// <summary>The shared corpora (<c>../shared/data</c> next to the repository); may not exist.</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    /// <summary>Reads one of <see cref="SampleNames"/>.</summary>
    /// <param name="name">The sample name.</param>
    /// <returns>The raw message bytes.</returns>
    public static byte[] ReadSample(string name)
    {
        var file = name + ".eml";
        var copied = Path.Combine(AppContext.BaseDirectory, "TestData", file);
        return File.ReadAllBytes(File.Exists(copied)
            ? copied
            : Path.Combine(RepoRoot, "benchmarks", "SmartMail.Benchmarks", "TestData", file));
    }

    /// <summary>
    /// <see cref="BatchSize"/> raw messages from 20news-bydate-test, taken round-robin over the groups
    /// (groups and files in ordinal name order), or the three samples repeated when the corpus is absent.
    /// </summary>
    /// <returns>The raw messages.</returns>
    public static byte[][] LoadTestBatch()
    {
        var dir = Path.Combine(SharedData, "20news-bydate", "20news-bydate-test");
        if (!Directory.Exists(dir))
        {
            Console.WriteLine($"// NOTE: corpus '{dir}' not found; the batch is the 3 TestData samples repeated to {BatchSize} mails.");
            var samples = SampleNames.Select(ReadSample).ToArray();
            return [.. Enumerable.Range(0, BatchSize).Select(i => samples[i % samples.Length])];
        }
        var groups = Directory.GetDirectories(dir).Order(StringComparer.Ordinal)
            .Select(g => Directory.GetFiles(g).Order(StringComparer.Ordinal).ToArray())
            .ToArray();
        var result = new List<byte[]>(BatchSize);
        for (var i = 0; result.Count < BatchSize; i++)
        {
            foreach (var files in groups)
            {
                if (i < files.Length && result.Count < BatchSize)
                {
                    result.Add(File.ReadAllBytes(files[i]));
                }
            }
        }
        return [.. result];
    }

    /// <summary>
    /// The training set of the training benchmark: the first <paramref name="perGroup"/> files (ordinal name order)
    /// of every group of 20news-bydate-train, extracted; <see langword="null"/> when the corpus is absent.
    /// </summary>
    /// <param name="perGroup">Files per group.</param>
    /// <returns>The set, or <see langword="null"/>.</returns>
    public static TrainingSet? LoadTrainingSet(int perGroup)
    {
        var dir = Path.Combine(SharedData, "20news-bydate", "20news-bydate-train");
        if (!Directory.Exists(dir))
        {
            Console.WriteLine($"// NOTE: corpus '{dir}' not found; the training benchmark measures nothing.");
            return null;
        }
        var extractor = new MailExtractor();
        var documents = new List<TrainingDocument>();
        foreach (var group in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
        {
            var label = Path.GetFileName(group);
            foreach (var file in Directory.GetFiles(group).Order(StringComparer.Ordinal).Take(perGroup))
            {
                var doc = extractor.Extract(File.ReadAllBytes(file));
                documents.Add(new TrainingDocument(label, new TextInput(doc.Subject, doc.Body), doc.Fingerprint, doc.Date));
            }
        }
        return TrainingSet.FromDocuments("folders", "20news-bydate-train-first" + perGroup.ToString(System.Globalization.CultureInfo.InvariantCulture), documents);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartMail.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No SmartMail.sln above '{AppContext.BaseDirectory}'.");
    }
}
