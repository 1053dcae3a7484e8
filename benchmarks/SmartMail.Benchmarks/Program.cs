using BenchmarkDotNet.Running;

namespace SmartMail.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/SmartMail.Benchmarks -- --filter '*Extraction*'</c>, or
/// <c>-- stages</c> for the Stopwatch stage breakdown over the whole 20news test set (<see cref="StageTimer"/>), or
/// <c>-- privacy-find [N]</c> for <c>privacy find</c> over N decisions (<see cref="PrivacyFindBenchmark"/>), or
/// <c>-- attachments</c> for the attachment-text experiment on SIB-200 Danish (<see cref="AttachmentExperiment"/>).
/// </summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line.</summary>
    /// <param name="args">BenchmarkDotNet arguments (<c>--filter</c>, <c>--job</c>, ...), or <c>stages ...</c>, or <c>attachments [folder]</c>.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "stages")
        {
            return StageTimer.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "lab")
        {
            return ModelLab.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "privacy-find")
        {
            return PrivacyFindBenchmark.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "attachments")
        {
            return AttachmentExperiment.Run(args[1..]);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
