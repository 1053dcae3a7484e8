using System.Diagnostics;
using System.Globalization;
using System.Text;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;

namespace SmartMail.Benchmarks;

/// <summary>
/// Model experiments on 20news-bydate (train → later test), outside BenchmarkDotNet:
/// <c>lab profile [perGroup]</c> times each stage of one training; <c>lab scores</c> trains the held-out model (random 20 %) and
/// the refit model as <c>train</c> does and saves the held-out and test scores; <c>lab oof K</c> saves k-fold
/// out-of-fold scores of the training set; <c>lab rules</c> compares threshold rules on the saved scores;
/// <c>lab scale N</c> trains on N varied 20news mails and reports time and peak memory; <c>lab dump TRAIN TEST NAME [flags]</c>
/// runs <c>train</c> and saves the validation and test scores.
/// Extracted text is cached in <c>$TMPDIR/smartmail-lab</c>.
/// </summary>
public static class ModelLab
{
    private static readonly string Cache = Path.Combine(Path.GetTempPath(), "smartmail-lab");

    /// <summary>Runs a lab command.</summary>
    /// <param name="args">The command and its arguments.</param>
    /// <returns>The exit code.</returns>
    public static int Run(string[] args)
    {
        Directory.CreateDirectory(Cache);
        switch (args.FirstOrDefault())
        {
            case "profile":
                Profile(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : int.MaxValue, args.Skip(2).ToArray());
                return 0;
            case "scores":
                SaveScores(args.Skip(1).ToArray());
                return 0;
            case "newest":
                SaveNewestHoldout();
                return 0;
            case "oof":
                SaveOutOfFold(int.Parse(args[1], CultureInfo.InvariantCulture), args.Skip(2).ToArray());
                return 0;
            case "rules":
                Rules(args.Length > 1 ? args[1] : "default");
                return 0;
            case "e2e":
                EndToEnd(args.Skip(1).ToArray());
                return 0;
            case "set":
                OtherSet(args[1], args[2], args.Skip(3).ToArray());
                return 0;
            case "dump":
                Dump(args[1], args[2], args[3], args.Skip(4).ToArray());
                return 0;
            case "scale":
                Scale(int.Parse(args[1], CultureInfo.InvariantCulture), args.Skip(2).ToArray());
                return 0;
            default:
                Console.Error.WriteLine("usage: lab profile [perGroup] | scores | oof K | rules [tag] | scale N");
                return 2;
        }
    }

    private static TrainingOptions Options(string[] flags)
    {
        var o = new TrainingOptions();
        foreach (var f in flags)
        {
            var (k, v) = (f.Split('=')[0], f.Contains('=', StringComparison.Ordinal) ? f.Split('=')[1] : "");
            o = k switch
            {
                "char" => o with { Featurizer = o.Featurizer with { CharNgramMin = int.Parse(v.Split('-')[0], CultureInfo.InvariantCulture), CharNgramMax = int.Parse(v.Split('-')[1], CultureInfo.InvariantCulture) } },
                "nbchar" => o with { Trainer = o.Trainer with { CharNgramsNaiveBayesOnly = true } },
                "nbw" => o with { Trainer = o.Trainer with { NaiveBayesWeight = float.Parse(v, CultureInfo.InvariantCulture) } },
                "random" => o with { RandomUndatedHoldout = true },
                "point" => o with { Thresholds = new ThresholdOptions { Method = ThresholdMethod.PointEstimate } },
                "nochar" => o with { Featurizer = o.Featurizer with { CharNgramsByValidation = false } },
                "sizerule" => o with { Featurizer = o.Featurizer with { CharNgramsByValidation = false, CharNgramsBelowCharacters = 5_000_000 } },
                "maxchar" => o with { Featurizer = o.Featurizer with { MaxCharFeatures = int.Parse(v, CultureInfo.InvariantCulture) } },
                "work" => o with { Trainer = o.Trainer with { MaxEntCharNgramWork = long.Parse(v, CultureInfo.InvariantCulture) } },
                "sub" => o, // lab e2e: the first N documents of each group
                "iter" => o with { Trainer = o.Trainer with { MaxIterations = int.Parse(v, CultureInfo.InvariantCulture) } },
                "tol" => o with { Trainer = o.Trainer with { ConvergenceTolerance = float.Parse(v, CultureInfo.InvariantCulture) } },
                "check" => o with { Trainer = o.Trainer with { ConvergenceCheckFrequency = int.Parse(v, CultureInfo.InvariantCulture) } },
                "l2" => o with { Trainer = o.Trainer with { L2 = float.Parse(v, CultureInfo.InvariantCulture) } },
                "maxent" => o with { Trainer = o.Trainer with { Trainer = TrainerSettings.SdcaMaximumEntropy } },
                "svmit" => o with { Trainer = o.Trainer with { SvmIterations = int.Parse(v, CultureInfo.InvariantCulture) } },
                "lambda" => o with { Trainer = o.Trainer with { SvmLambda = float.Parse(v, CultureInfo.InvariantCulture) } },
                "folds" => o with { CrossFitFolds = int.Parse(v, CultureInfo.InvariantCulture) },
                "repeats" => o with { CrossFitRepeats = int.Parse(v, CultureInfo.InvariantCulture) },
                "rawshared" => o with { Thresholds = o.Thresholds with { SharedIsotonic = false } },
                "seed" => o with { Seed = int.Parse(v, CultureInfo.InvariantCulture) },
                "maxfeat" => o with { Featurizer = o.Featurizer with { MaxFeatures = int.Parse(v, CultureInfo.InvariantCulture) } },
                _ => throw new ArgumentException($"unknown flag {f}"),
            };
        }
        return o;
    }

    private static void Profile(int perGroup, string[] flags)
    {
        var set = Load("train");
        var docs = set.Documents.GroupBy(d => d.Label).SelectMany(g => g.Take(perGroup)).ToList();
        var options = Options(flags);
        var featurizer = options.Featurizer.Resolve(docs.Sum(d => (long)d.Text.Subject.Length + Math.Min(d.Text.Body.Length, options.Featurizer.MaxTextLength)));
        Console.WriteLine($"{docs.Count} documents, char n-grams {featurizer.CharNgramMin}-{featurizer.CharNgramMax}, load {Load1()}");
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        var progress = new SyncProgress(m =>
        {
            Console.WriteLine($"  {(sw.Elapsed - last).TotalSeconds,7:F2} s  (then, CPU so far {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s) {m}");
            last = sw.Elapsed;
        });
        using var model = ModelTrainer.Train([.. docs.Select(d => new LabeledText(d.Label, d.Text))], featurizer, options.Trainer with { Seed = options.Seed }, progress);
        Console.WriteLine($"  {(sw.Elapsed - last).TotalSeconds,7:F2} s  (last stage); total {sw.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s CPU, dimension {model.Featurizer.Dimension}, peak {Environment.WorkingSet / 1e6:F0} MB now");
        var test = Load("test");
        var scored = ModelTraining.Score(model, test.Documents);
        Console.WriteLine($"  test accuracy {scored.Count(s => s.Actual == s.Predicted.Label) / (double)scored.Length:F4}");
    }

    // The held-out model's scores on the held-out 20 % and the refit model's scores on the test set, as `train` makes them.
    private static void SaveScores(string[] flags)
    {
        var options = Options(flags);
        var tag = flags.Length == 0 ? "default" : string.Join("_", flags);
        var set = Load("train");
        var usable = set.Documents.ToList();
        var featurizer = options.Featurizer.Resolve(usable.Sum(d => (long)d.Text.Subject.Length + Math.Min(d.Text.Body.Length, options.Featurizer.MaxTextLength)));
        var trainer = options.Trainer with { Seed = options.Seed };
        var (trainPart, holdout, _) = ModelTraining.Split(usable, options.HoldoutFraction, options.Seed, randomUndated: true);
        var sw = Stopwatch.StartNew();
        var refit = Task.Run(() => ModelTrainer.Train([.. usable.Select(d => new LabeledText(d.Label, d.Text))], featurizer, trainer));
        using var held = ModelTrainer.Train([.. trainPart.Select(d => new LabeledText(d.Label, d.Text))], featurizer, trainer);
        using var full = refit.GetAwaiter().GetResult();
        Console.WriteLine($"trained both in {sw.Elapsed.TotalSeconds:F1} s (load {Load1()})");
        var test = Load("test");
        Write($"{tag}-holdout", held.Labels, ModelTraining.Score(held, holdout));
        Write($"{tag}-test", full.Labels, ModelTraining.Score(full, test.Documents));
        Write($"{tag}-heldmodel-test", held.Labels, ModelTraining.Score(held, test.Documents));
    }

    // The held-out model trained on each group's oldest 80 % by article number (the file name), its scores on the newest
    // 20 %: the time-ordered holdout `train` uses for dated mail. The refit model is the same as in `scores`.
    private static void SaveNewestHoldout()
    {
        var options = new TrainingOptions();
        var set = Load("train");
        var usable = set.Documents.ToList();
        var dir = Path.Combine(BenchmarkData.SharedData, "20news-bydate", "20news-bydate-train");
        var article = Directory.GetDirectories(dir).Order(StringComparer.Ordinal)
            .SelectMany(g => Directory.GetFiles(g).Order(StringComparer.Ordinal).Select(f => long.Parse(Path.GetFileName(f), CultureInfo.InvariantCulture)))
            .ToArray();
        var holdoutIndex = new HashSet<int>();
        foreach (var group in Enumerable.Range(0, usable.Count).GroupBy(i => usable[i].Label))
        {
            var newest = group.OrderByDescending(i => article[i]).ToList();
            holdoutIndex.UnionWith(newest.Take((int)Math.Round(newest.Count * options.HoldoutFraction)));
        }
        var featurizer = options.Featurizer.Resolve(usable.Sum(d => (long)d.Text.Subject.Length + Math.Min(d.Text.Body.Length, options.Featurizer.MaxTextLength)));
        var sw = Stopwatch.StartNew();
        using var held = ModelTrainer.Train([.. Enumerable.Range(0, usable.Count).Where(i => !holdoutIndex.Contains(i)).Select(i => new LabeledText(usable[i].Label, usable[i].Text))],
            featurizer, options.Trainer with { Seed = options.Seed });
        Console.WriteLine($"trained in {sw.Elapsed.TotalSeconds:F1} s (load {Load1()})");
        Write("newest-holdout", held.Labels, ModelTraining.Score(held, [.. holdoutIndex.Order().Select(i => usable[i])]));
        Write("newest-heldmodel-test", held.Labels, ModelTraining.Score(held, Load("test").Documents));
        foreach (var ext in new[] { "scores", "labels" })
        {
            File.Copy(Path.Combine(Cache, $"default-test.{ext}"), Path.Combine(Cache, $"newest-test.{ext}"), overwrite: true);
        }
    }

    private static void SaveOutOfFold(int k, string[] flags)
    {
        var options = Options(flags);
        var tag = flags.Length == 0 ? "default" : string.Join("_", flags);
        var set = Load("train");
        var usable = set.Documents.ToList();
        var featurizer = options.Featurizer.Resolve(usable.Sum(d => (long)d.Text.Subject.Length + Math.Min(d.Text.Body.Length, options.Featurizer.MaxTextLength)));
        var trainer = options.Trainer with { Seed = options.Seed };
        var folds = ModelTraining.Folds(usable, k, options.Seed);
        var scored = new ScoredExample[usable.Count];
        IReadOnlyList<string>? labels = null;
        var sw = Stopwatch.StartNew();
        Parallel.For(0, k, new ParallelOptions { MaxDegreeOfParallelism = 2 }, f =>
        {
            var trainPart = usable.Where((_, i) => folds[i] != f).Select(d => new LabeledText(d.Label, d.Text)).ToList();
            using var model = ModelTrainer.Train(trainPart, featurizer, trainer);
            labels = model.Labels;
            var idx = Enumerable.Range(0, usable.Count).Where(i => folds[i] == f).ToList();
            var s = ModelTraining.Score(model, [.. idx.Select(i => usable[i])]);
            for (var j = 0; j < idx.Count; j++)
            {
                scored[idx[j]] = s[j];
            }
        });
        Console.WriteLine($"{k} folds in {sw.Elapsed.TotalSeconds:F1} s (load {Load1()})");
        Write($"{tag}-oof{k}", labels!, scored);
    }

    private static void Rules(string tag)
    {
        var labels = File.ReadLines(Path.Combine(Cache, $"{tag}-test.labels")).ToList();
        var test = Read($"{tag}-test");
        var sources = new List<(string Name, ScoredExample[] Scores)> { ("holdout20", Read($"{tag}-holdout")) };
        foreach (var f in Directory.GetFiles(Cache, $"{tag}-oof*.scores").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(f);
            sources.Add((name[(tag.Length + 1)..], Read(name)));
        }
        var all = Evaluator.Evaluate(test, labels, labels.ToDictionary(l => l, _ => (float?)0f));
        Console.WriteLine($"test accuracy {all.Summary.Accuracy:F4}, macro-F1 {all.Summary.MacroF1:F4}");
        Console.WriteLine("| thresholds from | rule | automation (test) | precision (test) | min label precision | labels manual-only |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (var (name, scores) in sources)
        {
            foreach (var rule in RuleGrid())
            {
                var thresholds = Evaluator.ChooseThresholds(scores, labels, 0.95, rule.Options);
                var r = Evaluator.Evaluate(test, labels, thresholds, 0.95);
                var worst = r.PerLabel.Where(l => l.Automated >= 20).Select(l => l.AutomatedPrecision).DefaultIfEmpty(0).Min();
                Console.WriteLine($"| {name} | {rule.Name} | {r.Summary.AutomationRate:F3} | {r.Summary.AutomatedPrecision:F3} | {worst:F3} | {thresholds.Count(t => t.Value is null)} |");
            }
        }
    }

    private static IEnumerable<(string Name, ThresholdOptions Options)> RuleGrid()
    {
        yield return ("point estimate, ≥ 5 routes (before)", new ThresholdOptions { Method = ThresholdMethod.PointEstimate, MinSupport = 5 });
        yield return ("point estimate + 2 pt margin", new ThresholdOptions { Method = ThresholdMethod.PointEstimate, MinSupport = 5, Margin = 0.02 });
        foreach (var conf in new[] { 0.8, 0.9, 0.95, 0.99 })
        {
            yield return ($"Clopper-Pearson {conf:P0} lower bound", new ThresholdOptions { Method = ThresholdMethod.ClopperPearson, Confidence = conf });
            yield return ($"Wilson {conf:P0} lower bound", new ThresholdOptions { Method = ThresholdMethod.Wilson, Confidence = conf });
            yield return ($"Learn-then-Test fixed sequence δ={1 - conf:0.##}", new ThresholdOptions { Method = ThresholdMethod.LearnThenTest, Confidence = conf });
            yield return ($"Clopper-Pearson {conf:P0} + pooled fallback", new ThresholdOptions { Method = ThresholdMethod.ClopperPearson, Confidence = conf, PooledFallback = true });
        }
    }

    // `train` on 20news-bydate-train with the given options, then `evaluate` on the test set.
    private static void EndToEnd(string[] flags)
    {
        var options = Options(flags);
        var set = Load("train");
        if (flags.FirstOrDefault(f => f.StartsWith("sub=", StringComparison.Ordinal)) is { } sub)
        {
            var perGroup = int.Parse(sub[4..], CultureInfo.InvariantCulture);
            set = TrainingSet.FromDocuments("folders", "20news-bydate-train", [.. set.Documents.GroupBy(d => d.Label).SelectMany(g => g.Take(perGroup))]);
        }
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var result = ModelTraining.Train(set, options, new SyncProgress(m => Console.WriteLine($"  {sw.Elapsed.TotalSeconds,7:F1} s {m}")));
        Console.WriteLine($"trained in {sw.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s CPU, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB (load {Load1()}); split {result.Bundle.Manifest.Training.HoldoutSplit}, rule {result.Bundle.Manifest.Training.ThresholdRule}");
        var h = result.Holdout!.Summary;
        Console.WriteLine($"char n-grams: {result.Bundle.Manifest.Training.CharNgramChoice ?? "set by hand"}; featurizer {result.Bundle.Manifest.Featurizer.CharNgramMin}-{result.Bundle.Manifest.Featurizer.CharNgramMax}, dimension {result.Bundle.Model.Featurizer.Dimension}");
        Console.WriteLine($"held out: automation {h.AutomationRate:F3} precision {h.AutomatedPrecision:F3}");
        var test = Load("test");
        var scored = ModelTraining.Score(result.Bundle.Model, test.Documents);
        var r = Evaluator.Evaluate(scored, result.Bundle.Model.Labels, result.Bundle.Thresholds, options.TargetPrecision);
        Console.WriteLine($"test: accuracy {r.Summary.Accuracy:F4} macro-F1 {r.Summary.MacroF1:F4} automation {r.Summary.AutomationRate:F3} precision {r.Summary.AutomatedPrecision:F3} (target {options.TargetPrecision})");
        Console.WriteLine("| min confidence | automation | precision |");
        foreach (var p in r.Summary.Curve!)
        {
            Console.WriteLine($"| {p.MinConfidence:F3} | {p.AutomationRate:F2} | {p.Precision:F3} |");
        }
        foreach (var l in r.PerLabel)
        {
            Console.WriteLine($"  {l.Label}: threshold {l.Threshold?.ToString("F3", CultureInfo.InvariantCulture) ?? "manual"}, automated {l.Automated}, precision {l.AutomatedPrecision:F3}");
        }
        result.Bundle.Save(Path.Combine(Cache, "e2e-" + (flags.Length == 0 ? "default" : string.Join("_", flags)) + ".zip"));
        result.Bundle.Dispose();
    }

    // `train` then `evaluate` on another corpus: a label-folder directory or "csv:PATH:TEXTCOLUMN:LABELCOLUMN"; test "-" for none.
    private static void OtherSet(string trainSpec, string testSpec, string[] flags)
    {
        var options = Options(flags);
        var set = ReadSet(trainSpec);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var result = ModelTraining.Train(set, options);
        Console.WriteLine($"{set.Documents.Count} documents: trained in {sw.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s CPU (load {Load1()})");
        Console.WriteLine($"char n-grams: {result.Bundle.Manifest.Training.CharNgramChoice ?? "set by hand"}; featurizer {result.Bundle.Manifest.Featurizer.CharNgramMin}-{result.Bundle.Manifest.Featurizer.CharNgramMax}, maxent gets them: {!result.Bundle.Manifest.Trainer.CharNgramsNaiveBayesOnly}");
        var h = result.Holdout!.Summary;
        Console.WriteLine($"held out: accuracy {h.Accuracy:F4} macro-F1 {h.MacroF1:F4} automation {h.AutomationRate:F3} precision {h.AutomatedPrecision:F3}");
        if (testSpec != "-")
        {
            var test = ReadSet(testSpec);
            var r = Evaluator.Evaluate(ModelTraining.Score(result.Bundle.Model, test.Documents), result.Bundle.Model.Labels, result.Bundle.Thresholds, options.TargetPrecision);
            Console.WriteLine($"test: accuracy {r.Summary.Accuracy:F4} macro-F1 {r.Summary.MacroF1:F4} automation {r.Summary.AutomationRate:F3} precision {r.Summary.AutomatedPrecision:F3}");
        }
        result.Bundle.Dispose();
    }

    // `train` with its defaults and the flags (sets as in ReadSet); saves the validation scores the
    // thresholds were chosen on ({name}-val) and the final model's scores on the test set ({name}-test), so threshold
    // rules can be compared end to end without retraining.
    private static void Dump(string trainSpec, string testSpec, string name, string[] flags)
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var result = ModelTraining.Train(ReadSet(trainSpec), Options(flags));
        Console.WriteLine($"trained in {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s CPU (load {Load1()})");
        using var bundle = result.Bundle;
        Write($"{name}-val", bundle.Model.Labels, [.. result.ValidationScores!]);
        var test = ReadSet(testSpec);
        var scored = ModelTraining.Score(bundle.Model, test.Documents);
        Write($"{name}-test", bundle.Model.Labels, scored);
        var r = Evaluator.Evaluate(scored, bundle.Model.Labels, bundle.Thresholds, 0.95);
        Console.WriteLine($"{name}: split {bundle.Manifest.Training.HoldoutSplit}; test accuracy {r.Summary.Accuracy:F4} automation {r.Summary.AutomationRate:F3} precision {r.Summary.AutomatedPrecision:F3}; scores in {Cache}");
    }

    // A label-folder directory, "csv:PATH:TEXTCOLUMN:LABELCOLUMN", or 20news-train / 20news-test (the cached extraction).
    private static TrainingSet ReadSet(string spec) => spec.StartsWith("csv:", StringComparison.Ordinal)
        ? TrainingSet.FromCsv(spec.Split(':')[1], spec.Split(':')[2], spec.Split(':')[3])
        : spec is "20news-train" or "20news-test" ? Load(spec[7..]) : TrainingSet.FromFolders(spec, new MailExtractor());

    private static void Scale(int n, string[] flags)
    {
        var options = Options(flags);
        var set = Load("train");
        var docs = Vary(set.Documents, n, 7);
        var varied = TrainingSet.FromDocuments("lab", $"20news-varied-{n}", docs);
        GC.Collect();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var progress = new SyncProgress(m => Console.WriteLine($"  {sw.Elapsed.TotalSeconds,7:F1} s {m}"));
        var result = ModelTraining.Train(varied, options, progress);
        Console.WriteLine($"{n} mails: {sw.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds:F1} s CPU, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB, " +
            $"dimension {result.Bundle.Model.Featurizer.Dimension}, char n-grams {result.Bundle.Manifest.Featurizer.CharNgramMin}-{result.Bundle.Manifest.Featurizer.CharNgramMax}, load {Load1()}");
        result.Bundle.Dispose();
    }

    /// <summary>
    /// <paramref name="n"/> documents from <paramref name="source"/>: the originals, then variants made by shuffling
    /// each body's sentences and dropping or swapping a share of its words, so repeated mails are not duplicates.
    /// </summary>
    internal static List<TrainingDocument> Vary(IReadOnlyList<TrainingDocument> source, int n, int seed)
    {
        var random = new Random(seed);
        var result = new List<TrainingDocument>(n);
        for (var i = 0; result.Count < n; i++)
        {
            var d = source[i % source.Count];
            if (i < source.Count)
            {
                result.Add(d);
                continue;
            }
            var sentences = d.Text.Body.Split(['.', '\n'], StringSplitOptions.RemoveEmptyEntries);
            random.Shuffle(sentences);
            var words = string.Join(". ", sentences).Split(' ');
            var sb = new StringBuilder(d.Text.Body.Length);
            for (var w = 0; w < words.Length; w++)
            {
                var roll = random.NextDouble();
                if (roll < 0.1)
                {
                    continue; // drop
                }
                if (roll < 0.2 && w + 1 < words.Length)
                {
                    (words[w], words[w + 1]) = (words[w + 1], words[w]);
                }
                sb.Append(words[w]).Append(' ');
            }
            var body = sb.ToString();
            result.Add(new TrainingDocument(d.Label, new TextInput(d.Text.Subject, body), $"{d.Fingerprint}-v{i}", null));
        }
        return result;
    }

    private static TrainingSet Load(string part)
    {
        var file = Path.Combine(Cache, $"20news-{part}.bin");
        if (!File.Exists(file))
        {
            var set = TrainingSet.FromFolders(Path.Combine(BenchmarkData.SharedData, "20news-bydate", $"20news-bydate-{part}"), new MailExtractor());
            using var w = new BinaryWriter(File.Create(file + ".tmp"));
            w.Write(set.Documents.Count);
            foreach (var d in set.Documents)
            {
                w.Write(d.Label);
                w.Write(d.Text.Subject);
                w.Write(d.Text.Body);
                w.Write(d.Fingerprint);
            }
            w.Close();
            File.Move(file + ".tmp", file);
        }
        using var r = new BinaryReader(File.OpenRead(file));
        var count = r.ReadInt32();
        var docs = new List<TrainingDocument>(count);
        for (var i = 0; i < count; i++)
        {
            docs.Add(new TrainingDocument(r.ReadString(), new TextInput(r.ReadString(), r.ReadString()), r.ReadString(), null));
        }
        return TrainingSet.FromDocuments("folders", $"20news-bydate-{part}", docs);
    }

    private static void Write(string name, IReadOnlyList<string> labels, ScoredExample[] scored)
    {
        File.WriteAllLines(Path.Combine(Cache, $"{name}.labels"), labels);
        File.WriteAllLines(Path.Combine(Cache, $"{name}.scores"), scored.Select(s =>
            $"{s.Actual}\t{string.Join('\t', s.Predicted.Top.Select(t => $"{t.Label}\t{t.Score.ToString("R", CultureInfo.InvariantCulture)}"))}"));
    }

    private static ScoredExample[] Read(string name) => [.. File.ReadLines(Path.Combine(Cache, $"{name}.scores")).Select(line =>
    {
        var p = line.Split('\t');
        var top = new List<LabelScore>();
        for (var i = 1; i + 1 < p.Length; i += 2)
        {
            top.Add(new LabelScore(p[i], float.Parse(p[i + 1], CultureInfo.InvariantCulture)));
        }
        return new ScoredExample(p[0], new Prediction(top[0].Label, top[0].Score, top));
    })];

    private static string Load1() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private sealed class SyncProgress(Action<string> report) : IProgress<string>
    {
        private readonly Lock _lock = new();

        public void Report(string value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
