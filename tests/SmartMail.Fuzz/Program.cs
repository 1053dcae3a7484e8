using SharpFuzz;
using SmartMail.Fuzz;

// AFL++ (default):   afl-fuzz -i corpus -o findings -t 5000 -m none -- dotnet bin/.../SmartMail.Fuzz.dll
// libFuzzer:         libfuzzer-dotnet --target_path=dotnet --target_arg=bin/.../SmartMail.Fuzz.dll corpus -- --libfuzzer
// Replay a corpus:   dotnet run --project tests/SmartMail.Fuzz -- --replay tests/SmartMail.Fuzz/corpus
if (args.Length >= 2 && args[0] == "--replay")
{
    var failures = 0;
    foreach (var file in Directory.EnumerateFiles(args[1]).Order(StringComparer.Ordinal))
    {
        try
        {
            ExtractionInvariants.Check(File.ReadAllBytes(file));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            failures++;
            Console.Error.WriteLine($"{file}: {ex}");
        }
    }
    Console.WriteLine($"{failures} failures");
    return failures == 0 ? 0 : 1;
}
if (args.Contains("--libfuzzer"))
{
    Fuzzer.LibFuzzer.Run(span => ExtractionInvariants.Check(span.ToArray()));
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    ExtractionInvariants.Check(buffer.ToArray());
});
return 0;
