using System.Diagnostics;
using System.Globalization;

namespace SmartMail.Web.Tests;

/// <summary>
/// How long the pages take over real HTTP with 100,000 decisions in the (in-memory) store: a measurement, not a test; run
/// it explicitly (<c>dotnet test --project tests/SmartMail.Web.Tests --filter-method "*PageSpeed*" -- --explicit only</c>)
/// and read its output. The fake filters its lists in O(n), so the times are an upper bound of the pages' own cost.
/// </summary>
public sealed class PageSpeedTests(ITestOutputHelper output)
{
    [Fact(Explicit = true)]
    public async Task PageSpeed_With100000Decisions()
    {
        await using var server = await WebServer.StartAsync(routedInA: 100_000);
        using var admin = await server.LocalAdminAsync();
        string[] paths = ["/", "/triage/A", "/triage/A?p=2", "/mail/r0050000-0000-0000", "/search?sender=borger4", "/search?p=2000", "/labels", "/models", "/quarantine"];
        foreach (var path in paths)
        {
            await admin.PageAsync(path); // warm up (JIT, view compilation)
        }

        foreach (var path in paths)
        {
            var times = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var watch = Stopwatch.StartNew();
                var (response, _, _) = await admin.PageAsync(path);
                times.Add(watch.Elapsed.TotalMilliseconds);
                response.EnsureSuccessStatusCode();
            }
            times.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path,-28} p50 {times[9],7:F1} ms  p95 {times[18],7:F1} ms  max {times[19],7:F1} ms"));
        }
        Assert.True(server.Backend.LargestTake <= 20);
    }
}
