using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartMail.Core.Privacy;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.Faults;

/// <summary>
/// An SMTP relay refuses the recipient with a reply that quotes a CPR number and an address, as relays quote what they
/// were given. The worker logs the failed delivery with its exception (MailKit's exception carries the reply): the log
/// line, exception text included, holds neither, and still says what happened.
/// </summary>
public sealed class CprExceptionLeakTests(DefaultModelFixture model) : IntegrationTest(model)
{
    private const string Reply = "550 5.1.1 <sag@kommune.example.dk>: Recipient rejected, sag vedr. 31.12.75\u20114321 ukendt";

    [Fact]
    public async Task Host_RelayReplyQuotesCpr_FailedDeliveryIsLoggedRedacted()
    {
        var ct = TestContext.Current.CancellationToken;
        using var relay = new RefusingRelay(Reply);
        var inbox = Directory.CreateDirectory(Path.Combine(Data.FullName, "inbox")).FullName;
        File.WriteAllText(Path.Combine(inbox, "fwd.eml"), "Subject: Videresend\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej.\r\n");
        var logs = new LogCapture();
        var builder = WorkerHost.CreateBuilder([
            $"--SmartMail:ModelPath={Model.ModelPath}",
            $"--SmartMail:DataDirectory={Data.FullName}",
            "--SmartMail:PollInterval=00:00:00.200",
            "--SmartMail:Web:Url=http://127.0.0.1:0", // a free port, not the default 5080 (issue 24)
            "--SmartMail:Rules:0:Name=fwd",
            "--SmartMail:Rules:0:Label=Videresend",
            "--SmartMail:Rules:0:Subject=Videresend",
            "--SmartMail:Routes:Videresend:Kind=Smtp",
            "--SmartMail:Routes:Videresend:Address=sag@kommune.example.dk",
            "--SmartMail:Smtp:Host=127.0.0.1",
            $"--SmartMail:Smtp:Port={relay.Port}",
            "--SmartMail:Smtp:Security=None",
            "--SmartMail:Smtp:AllowPlaintext=true",
            "--SmartMail:Smtp:From=smartmail@kommune.example.dk",
            "--Logging:LogLevel:Default=Trace",
        ]);
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        using var host = builder.Build();

        await host.StartAsync(ct);
        await FaultRig.WaitUntilAsync(() => logs.Lines.Any(l => l.Exception.Contains("5.1.1", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), "the refused delivery logged");
        await host.StopAsync(ct);

        Assert.True(relay.Refused > 0);
        var failure = logs.Lines.First(l => l.Exception.Contains("5.1.1", StringComparison.Ordinal));
        Assert.Contains("Recipient rejected, sag vedr. [CPR] ukendt", failure.Exception, StringComparison.Ordinal);
        Assert.Contains("MailKit.Net.Smtp.SmtpCommandException", failure.Exception, StringComparison.Ordinal);
        Assert.All(logs.Lines, l =>
        {
            var text = $"{l.Message} {l.Exception}";
            Assert.False(CprCorpus.Leaks(text) || text.Contains("4321", StringComparison.Ordinal), text);
            Assert.DoesNotContain("sag@kommune.example.dk", text, StringComparison.Ordinal);
        });
    }

    /// <summary>Keeps each log line's message and exception text.</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string Message, string Exception)> _lines = new();

        public IReadOnlyList<(string Message, string Exception)> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<(string, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((formatter(state, exception), exception?.ToString() ?? ""));
        }
    }

    /// <summary>A loopback SMTP relay that accepts the session and refuses every recipient with a fixed reply.</summary>
    private sealed class RefusingRelay : LoopbackServer
    {
        private readonly string _reply;
        private int _refused;

        public RefusingRelay(string reply)
        {
            _reply = reply;
            StartAccepting();
        }

        public int Refused => Volatile.Read(ref _refused);

        protected override async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    using var reader = new StreamReader(stream, Encoding.ASCII);
                    await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
                    await writer.WriteLineAsync("220 relay.example ESMTP");
                    while (await reader.ReadLineAsync(Stopping) is { } line)
                    {
                        var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                        if (verb == "RCPT")
                        {
                            Interlocked.Increment(ref _refused);
                        }
                        await writer.WriteLineAsync(verb switch
                        {
                            "EHLO" or "HELO" => "250 relay.example",
                            "RCPT" => _reply,
                            "QUIT" => "221 bye",
                            _ => "250 ok",
                        });
                        if (verb == "QUIT")
                        {
                            return;
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    // the client went away
                }
            }
        }
    }
}
