using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Logging;
using SmartMail.Worker.Processing;
using SmartMail.Worker.Tests.Faults;

namespace SmartMail.Worker.Tests.Logging;

/// <summary>
/// The host's logging pipeline (<see cref="WorkerHost.CreateBuilder"/>, as the worker and the CLI build it) with two
/// providers: one that takes scopes itself and one that reads them from the factory's scope provider, as the console
/// and journald formatters do. Whatever the code logs, no provider sees a CPR number or an address.
/// </summary>
public sealed class RedactingLoggerTests
{
    private const string Cpr1 = "31.12.75-4321";
    private const string Cpr2 = "010190\u00A01234";
    private const string Address = "hans.hansen@example.dk";

    private static readonly Action<ILogger, string, object, Exception?> Message = LoggerMessage.Define<string, object>(
        LogLevel.Trace, new EventId(9001, "Test"), "Mail from {Sender} about {Case}");

    private static readonly Func<ILogger, string, IDisposable?> FileScope = LoggerMessage.DefineScope<string>("Reading {File}");

    [Fact]
    public void Log_ExceptionCarryingCpr_IsLoggedRedacted()
    {
        using var world = new LoggingWorld();
        var logger = world.Logger<MailProcessor>();
        var exception = Thrown(() => throw new IOException(
            $"5.1.1 <{Address}>: mailbox for {Cpr1} unknown", new FileNotFoundException($"no such file: /data/inbox/borger {Cpr2}.eml")));

        Log.DeliveryFailed(logger, "fp", "smtp", 2, exception);

        var line = Assert.Single(world.Lines, l => l.StartsWith("plain: Warning", StringComparison.Ordinal));
        AssertClean(Assert.Single(world.Lines, l => l.StartsWith("external: Warning", StringComparison.Ordinal)));
        AssertClean(line);
        Assert.Contains("System.IO.IOException: 5.1.1 <[EMAIL]>: mailbox for [CPR] unknown", line, StringComparison.Ordinal);
        Assert.Contains("System.IO.FileNotFoundException: no such file: /data/inbox/borger [CPR].eml", line, StringComparison.Ordinal);
        Assert.Contains(nameof(Thrown), line, StringComparison.Ordinal); // the stack is still there
        var logged = Assert.Single(world.Exceptions);
        AssertClean(logged.Message);
        AssertClean(logged.StackTrace ?? "");
        AssertClean(Assert.IsType<Exception>(logged.InnerException, exactMatch: false).Message);
    }

    [Fact]
    public void Log_CprInMessageValuesTemplateAndScope_AllRedactedForBothKindsOfProvider()
    {
        using var world = new LoggingWorld();
        var logger = world.Logger<RedactingLoggerTests>();

        using (FileScope(logger, $"borger {Cpr2}.eml"))
        {
            Message(logger, $"Borger {Cpr1} <{Address}>", new Uri($"https://sag.example/?cpr={Uri.EscapeDataString(Cpr2)}"), null);
            logger.Log(LogLevel.Information, new EventId(9002), $"interpolated {Cpr1}", null, (s, _) => s);
        }

        Assert.Equal(4, world.Lines.Count(l => l.Contains(": Trace ", StringComparison.Ordinal) || l.Contains(": Information ", StringComparison.Ordinal)));
        Assert.All(world.Lines, AssertClean);
        Assert.Contains(world.Lines, l => l.Contains("Mail from Borger [CPR] <[EMAIL]> about https://sag.example/?cpr=[CPR]", StringComparison.Ordinal));
        Assert.Contains(world.Lines, l => l.Contains("interpolated [CPR]", StringComparison.Ordinal));
        Assert.Contains(world.Lines, l => l.Contains("external scope: Reading borger [CPR].eml", StringComparison.Ordinal));
        Assert.Contains(world.Lines, l => l.Contains("scope: Reading borger [CPR].eml", StringComparison.Ordinal));
    }

    [Fact]
    public void Log_NothingPersonal_ValuesKeepTheirTypeAndTheExceptionIsTheSame()
    {
        using var world = new LoggingWorld();
        var logger = world.Logger<RedactingLoggerTests>();
        var exception = Thrown(() => throw new InvalidOperationException("nothing personal, case 2024-123456"));

        Message(logger, "sag 2024-123456", 42, exception);

        Assert.Same(exception, Assert.Single(world.Exceptions));
        Assert.Contains(world.Values, v => v is 42);
        Assert.Contains(world.Lines, l => l.Contains("Mail from sag 2024-123456 about 42", StringComparison.Ordinal));
    }

    [Fact]
    public void Log_LevelOff_ProvidersSeeNothing()
    {
        using var world = new LoggingWorld("Information");
        var logger = world.Logger<RedactingLoggerTests>();

        Message(logger, Cpr1, Cpr2, null);

        Assert.False(logger.IsEnabled(LogLevel.Trace));
        Assert.DoesNotContain(world.Lines, l => l.Contains("Mail from", StringComparison.Ordinal));
    }

    [Fact]
    public void RedactedException_Of_KeepsTypeNameAndInnerChainRedacted()
    {
        var original = Thrown(() => throw new AggregateException($"two failed: {Cpr1}", new IOException(Cpr2), new IOException("ok")));

        var redacted = Assert.IsType<RedactedException>(RedactedException.Of(original));

        Assert.Equal(typeof(AggregateException).FullName, redacted.OriginalType);
        Assert.StartsWith("System.AggregateException: two failed: [CPR]", redacted.ToString(), StringComparison.Ordinal);
        Assert.Contains("System.IO.IOException: [CPR]", redacted.ToString(), StringComparison.Ordinal);
        Assert.False(CprCorpus.Leaks(redacted.ToString()));
        Assert.Same(redacted, RedactedException.Of(redacted));
        Assert.Null(RedactedException.Of(null));
    }

    private static void AssertClean(string text)
    {
        Assert.False(CprCorpus.Leaks(text) || Cpr.ContainsAny(text), text);
        Assert.DoesNotContain(Address, text, StringComparison.Ordinal);
    }

    private static Exception Thrown(Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ex;
        }
        throw new InvalidOperationException("did not throw");
    }

    /// <summary>The host's logging, with capturing providers.</summary>
    private sealed class LoggingWorld : IDisposable
    {
        private readonly IHost _host;
        private readonly Capture _capture = new();

        public LoggingWorld(string level = "Trace")
        {
            var builder = WorkerHost.CreateBuilder([$"--Logging:LogLevel:Default={level}"], watch: false);
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new PlainProvider(_capture));
            builder.Logging.AddProvider(new ExternalScopeProvider(_capture));
            builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(level));
            _host = builder.Build();
        }

        public IReadOnlyList<string> Lines => [.. _capture.Lines];

        public IReadOnlyList<Exception> Exceptions => [.. _capture.Exceptions.Distinct()];

        public IReadOnlyList<object?> Values => [.. _capture.Values];

        public ILogger Logger<T>() => _host.Services.GetRequiredService<ILogger<T>>();

        public void Dispose() => _host.Dispose();
    }

    private sealed class Capture
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ConcurrentQueue<Exception> Exceptions { get; } = new();

        public ConcurrentQueue<object?> Values { get; } = new();

        public void Add<TState>(string provider, string scopes, LogLevel level, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var pairs = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            foreach (var (_, value) in pairs)
            {
                Values.Enqueue(value);
            }
            if (exception is not null)
            {
                Exceptions.Enqueue(exception);
            }
            Lines.Enqueue($"{provider}: {level} {formatter(state, exception)} {{{string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}"))}}} {scopes} {exception}");
        }
    }

    /// <summary>Takes scopes through <see cref="ILogger.BeginScope{TState}"/>.</summary>
    private sealed class PlainProvider(Capture capture) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(capture);

        public void Dispose()
        {
        }

        private sealed class Logger(Capture capture) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                var pairs = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
                capture.Lines.Enqueue($"scope: {state} {{{string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}"))}}}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                capture.Add("plain", "", logLevel, state, exception, formatter);
        }
    }

    /// <summary>Reads scopes from the factory, as the console and journald formatters do.</summary>
    private sealed class ExternalScopeProvider(Capture capture) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider? _scopes;

        public ILogger CreateLogger(string categoryName) => new Logger(capture, () => _scopes);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(Capture capture, Func<IExternalScopeProvider?> scopes) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => scopes()?.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var text = new System.Text.StringBuilder();
                scopes()?.ForEachScope((scope, sb) => sb.Append("external scope: ").Append(scope).Append(' '), text);
                capture.Add("external", text.ToString(), logLevel, state, exception, formatter);
                if (text.Length > 0)
                {
                    capture.Lines.Enqueue(text.ToString());
                }
            }
        }
    }
}
