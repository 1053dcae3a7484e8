using System.Reflection;
using Microsoft.Extensions.Logging;
using SmartMail.Core;

namespace SmartMail.Worker.Tests.Logging;

/// <summary>Every event id is named once in <see cref="SmartMailEventId"/> and used by exactly one log line.</summary>
public sealed class EventIdTests
{
    private static readonly Assembly[] Logging = [typeof(Worker.Imap.ImapWorker).Assembly, typeof(Web.OneTimeSignIn).Assembly];

    private static List<FieldInfo> Named() =>
        [.. typeof(SmartMailEventId).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral)];

    private static List<(string Method, int Id)> Used() =>
    [
        .. Logging.SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => (m.Method, m.Attribute!.EventId)),
    ];

    [Fact]
    public void SmartMailEventId_EveryConstant_HasADistinctValue()
    {
        var named = Named();

        var twice = named.GroupBy(f => (int)f.GetRawConstantValue()!).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(f => f.Name))}");

        Assert.True(named.Count > 40, $"only {named.Count} ids named");
        Assert.Empty(twice);
    }

    [Fact]
    public void LoggerMessages_InWorkerAndWeb_EachUseANamedIdOnce()
    {
        var named = Named().Select(f => (int)f.GetRawConstantValue()!).ToHashSet();
        var used = Used();

        Assert.True(used.Count > 40, $"only {used.Count} log lines found by reflection");
        Assert.Empty(used.Where(u => !named.Contains(u.Id)).Select(u => $"{u.Method} uses {u.Id}, not named in SmartMailEventId"));
        Assert.Empty(used.GroupBy(u => u.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(u => u.Method))}"));
    }

    [Fact]
    public void SignInRefusedAndLeaseAcquired_NoLongerShareAnId()
    {
        var used = Used().ToDictionary(u => u.Method, u => u.Id);

        Assert.Equal(SmartMailEventId.ImapSignInRefused, used.Single(u => u.Key.EndsWith("ImapLog.SignInRefused", StringComparison.Ordinal)).Value);
        Assert.NotEqual(SmartMailEventId.ImapSignInRefused, used.Single(u => u.Key.EndsWith("LeaseLog.Acquired", StringComparison.Ordinal)).Value);
        Assert.NotEqual(used.Single(u => u.Key.EndsWith("Log.ToManualTriage", StringComparison.Ordinal)).Value,
            used.Single(u => u.Key.EndsWith("Log.ModelSwapRefused", StringComparison.Ordinal)).Value);
    }
}
