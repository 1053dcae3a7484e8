using System.Diagnostics;
using System.Globalization;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Core.Text;

namespace SmartMail.Benchmarks;

/// <summary>
/// A Stopwatch harness for the stage breakdown in docs/benchmarks.md: every mail of 20news-bydate-test (7,532) through
/// each stage on one thread, several passes, the best pass reported with the managed bytes allocated per mail. Unlike
/// the BenchmarkDotNet batch (256 mails) it walks the whole test set, so the caches see a realistic vocabulary.
/// The CPU column is the process's processor time per mail (best pass): on a shared machine it is steadier than the wall clock.
/// <c>dotnet run -c Release --project benchmarks/SmartMail.Benchmarks -- stages [--passes N] [--scores FILE] [--compare FILE]</c>:
/// <c>--scores</c> writes every mail's probabilities (float32, label order) and <c>--compare</c> checks them against
/// such a file (largest absolute difference and top-label agreement), so a speed change can prove it left the scores alone.
/// </summary>
public static class StageTimer
{
    /// <summary>Runs the harness.</summary>
    /// <param name="args">The arguments after <c>stages</c>.</param>
    /// <returns>The exit code.</returns>
    public static int Run(string[] args)
    {
        var passes = 5;
        string? scoresOut = null, compareWith = null;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--passes": passes = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--scores": scoresOut = args[i + 1]; break;
                case "--compare": compareWith = args[i + 1]; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        var dir = Path.Combine(BenchmarkData.SharedData, "20news-bydate", "20news-bydate-test");
        var raws = Directory.GetDirectories(dir).Order(StringComparer.Ordinal)
            .SelectMany(g => Directory.GetFiles(g).Order(StringComparer.Ordinal)).Select(File.ReadAllBytes).ToArray();
        using var bundle = ModelBundle.Load(BenchmarkData.DefaultModelPath);
        var extractor = new MailExtractor();
        var policy = new RoutingPolicy([], bundle);
        var docs = raws.Select(r => extractor.Extract(r)).ToArray();
        var texts = docs.Select(d => new TextInput(d.Subject, d.Body)).ToArray();
        var vectors = texts.Select(bundle.Model.Featurizer.Transform).ToArray();
        var classes = bundle.Model.Labels.Count;
        var naiveBayes = bundle.Model.NaiveBayes;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{raws.Length} mails, {passes} passes, best pass; load before: {File.ReadAllText("/proc/loadavg").Trim()}"));

        var stages = new (string Name, Action<int> Body)[]
        {
            ("extract (raw bytes -> MailDocument)", i => extractor.Extract(raws[i])),
            ("featurize (TextInput -> SparseVector)", i => bundle.Model.Featurizer.Transform(texts[i])),
            ("  of which tokenizing", i =>
            {
                foreach (var token in Tokenizer.Words(texts[i].Subject))
                {
                    _ = token.Length;
                }
                foreach (var token in Tokenizer.Words(texts[i].Body))
                {
                    _ = token.Length;
                }
            }),
            ("score (SparseVector -> probabilities, maxent + NB)", i => bundle.Model.Score(vectors[i])),
            ("  of which naive Bayes", i =>
            {
                Span<double> output = stackalloc double[classes];
                naiveBayes?.Score(vectors[i], output);
            }),
            ("predict (TextInput -> Prediction)", i => bundle.Predict(texts[i])),
            ("decide (MailDocument -> RoutingDecision)", i => policy.Decide(docs[i])),
            ("end to end (raw bytes -> RoutingDecision)", i => policy.Decide(extractor.Extract(raws[i]))),
        };
        Console.WriteLine("| stage | µs per mail | per second | CPU µs per mail | KB allocated per mail |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        using var process = Process.GetCurrentProcess();
        foreach (var (name, body) in stages)
        {
            double best = double.MaxValue, bestCpu = double.MaxValue;
            long allocated = 0;
            for (var p = 0; p < passes; p++)
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                process.Refresh();
                var cpu = process.TotalProcessorTime;
                var stopwatch = Stopwatch.StartNew();
                for (var i = 0; i < raws.Length; i++)
                {
                    body(i);
                }
                best = Math.Min(best, stopwatch.Elapsed.TotalMicroseconds / raws.Length);
                process.Refresh();
                bestCpu = Math.Min(bestCpu, (process.TotalProcessorTime - cpu).TotalMicroseconds / raws.Length);
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {best:F1} | {1e6 / best:F0} | {bestCpu:F1} | {allocated / 1024.0 / raws.Length:F1} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load after: {File.ReadAllText("/proc/loadavg").Trim()}"));

        var scores = texts.Select(bundle.Model.Score).ToArray();
        if (scoresOut is not null)
        {
            using var writer = new BinaryWriter(File.Create(scoresOut));
            foreach (var row in scores)
            {
                foreach (var v in row)
                {
                    writer.Write(v);
                }
            }
        }
        if (compareWith is not null)
        {
            using var reader = new BinaryReader(File.OpenRead(compareWith));
            double maxDiff = 0;
            int sameTop = 0, identical = 0;
            foreach (var row in scores)
            {
                var reference = new float[row.Length];
                for (var c = 0; c < row.Length; c++)
                {
                    reference[c] = reader.ReadSingle();
                    maxDiff = Math.Max(maxDiff, Math.Abs(reference[c] - row[c]));
                }
                sameTop += ArgMax(reference) == ArgMax(row) ? 1 : 0;
                identical += reference.AsSpan().SequenceEqual(row) ? 1 : 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compared with {compareWith}: largest |difference| {maxDiff:G3}, same top label {sameTop}/{scores.Length}, bit-identical {identical}/{scores.Length}"));
        }
        return 0;
    }

    private static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }
        return best;
    }
}
