using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.Hosting;
using SmartMail.Core;
using SmartMail.Worker.Imap;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>
/// A broken invariant (an illegal ledger transition, any InvalidOperationException of our own) stops the worker with one
/// Critical line; only connection trouble reconnects. On main every InvalidOperationException counted as transient, so the
/// worker reconnected into the same bug for ever.
/// </summary>
public sealed class ImapWorkerInvariantTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("smartmail-invariant-");

    public static TheoryData<Exception, bool> Failures() => new()
    {
        { new IllegalTransitionException("Deliver is not allowed for mail 7: it is Seen."), false },
        { new InvalidOperationException("ours: a broken invariant"), false },
        { new StateStoreException("the ledger cannot record"), false },
        { new MailboxConfigurationException("invariant", "Folder", "no such folder"), false },
        { new ServiceNotConnectedException(), true },
        { new InvalidOperationException("The ImapClient is currently busy processing a command in another thread.") { Source = "MailKit" }, true },
        { new IOException("reset"), true },
        { new ImapProtocolException("BYE"), true },
        { new TimeoutException(), true },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void IsTransient_ByKindOfFailure_ReconnectsOnlyOnConnectionTrouble(Exception failure, bool transient) =>
        Assert.Equal(transient, MailboxCycle.IsTransient(failure));

    // What the service does after a failure, decided in one place for the service and the one-shot run.
    public static TheoryData<Exception, bool, MailboxFailure> Classified() => new()
    {
        { new MailboxConfigurationException("invariant", "Folder", "no such folder"), false, MailboxFailure.Configuration },
        { new MailKit.Security.AuthenticationException("NO [LIMIT] too many connections, try again in 30 seconds"), false, MailboxFailure.Throttled },
        { new MailKit.Security.AuthenticationException("NO [LIMIT] too many connections, try again in 30 seconds"), true, MailboxFailure.CredentialsRefused },
        { new HttpRequestException("429", null, System.Net.HttpStatusCode.TooManyRequests), false, MailboxFailure.Throttled },
        { new HttpRequestException("429", null, System.Net.HttpStatusCode.TooManyRequests), true, MailboxFailure.Transient },
        { new Auth.SignInRefusedException("OAuth2:ClientSecret was refused"), false, MailboxFailure.SignInRefused },
        { new MailKit.Security.AuthenticationException("NO [AUTHENTICATIONFAILED] Authentication failed."), false, MailboxFailure.CredentialsRefused },
        { new LeaseUnavailableException("no lease folder"), false, MailboxFailure.LeaseUnavailable },
        { new StateStoreException("the ledger cannot record"), false, MailboxFailure.LedgerFailed },
        { new IllegalTransitionException("Deliver is not allowed for mail 7: it is Seen."), false, MailboxFailure.InvariantBroken },
        { new OperationCanceledException(), true, MailboxFailure.Stopped },
        { new OperationCanceledException(), false, MailboxFailure.Transient },
        { new IOException("reset"), false, MailboxFailure.Transient },
        { new IOException("reset"), true, MailboxFailure.Transient },
        { new InvalidOperationException("ours: a broken invariant"), false, MailboxFailure.Unexpected },
    };

    [Theory]
    [MemberData(nameof(Classified))]
    public void Classify_ByKindOfFailureAndWhetherStopping_SaysWhatTheServiceDoesNext(Exception failure, bool stopping, MailboxFailure expected) =>
        Assert.Equal(expected, MailboxCycle.Classify(failure, stopping, out _));

    [Fact]
    public void Classify_ThrottledWithATimeHint_PassesTheHintOn()
    {
        var failure = MailboxCycle.Classify(new ImapProtocolException("BYE [UNAVAILABLE] server busy, try again in 30 seconds"), stopping: false, out var hint);

        Assert.Equal(MailboxFailure.Throttled, failure);
        Assert.Equal(TimeSpan.FromSeconds(30), hint);
    }

    [Fact]
    public async Task Worker_IllegalTransition_StopsTheApplicationWithOneCriticalLine()
    {
        await using var dovecot = await Dovecot.StartAsync();
        var options = dovecot.Options("invariant");
        options.UseLease = false;
        options.UseIdle = false;
        using var store = new SqliteStateStore(Path.Combine(_data.FullName, "state.db"));
        var logger = new ListLogger<ImapWorker>();
        var lifetime = new Lifetime();
        var drains = 0;
        using var worker = new ImapWorker(options, _ =>
        {
            Interlocked.Increment(ref drains);
            throw new IllegalTransitionException("Acknowledge is not allowed for mail 1 of invariant in INBOX: it is Seen.");
        }, store, TimeProvider.System, lifetime, logger);
        var exitCode = Environment.ExitCode;

        try
        {
            await worker.StartAsync(TestContext.Current.CancellationToken);
            var ended = await Task.WhenAny(worker.ExecuteTask!, Task.Delay(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
            await worker.StopAsync(CancellationToken.None);

            Assert.Same(worker.ExecuteTask, ended);
            Assert.True(lifetime.Stopped);
            Assert.Equal(1, drains); // not reconnected into the same bug
            Assert.Single(logger.With(SmartMailEventId.InvariantBroken));
            Assert.Empty(logger.With(SmartMailEventId.ImapConnectionLost));
        }
        finally
        {
            Environment.ExitCode = exitCode;
        }
    }

    public void Dispose() => _data.Delete(recursive: true);

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public bool Stopped { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopped = true;
    }
}
