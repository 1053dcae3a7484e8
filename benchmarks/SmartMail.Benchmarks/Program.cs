using BenchmarkDotNet.Running;

namespace SmartMail.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project benchmarks/SmartMail.Benchmarks -- --filter '*Extraction*'</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line.</summary>
    /// <param name="args">BenchmarkDotNet arguments (<c>--filter</c>, <c>--job</c>, ...).</param>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
