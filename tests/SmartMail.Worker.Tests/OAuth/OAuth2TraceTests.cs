using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartMail.Worker.State;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// The whole worker host (<see cref="WorkerHost"/>: mailbox watcher, lease, correction scanner, retrainer) with every log
/// category at Trace, signing in with a client secret to the Exchange profile while tokens expire and are renewed, and once
/// refused: no line may hold the secret, an issued access token, an Authorization header, a bearer token or a SASL XOAUTH2
/// message (plain or base64).
/// </summary>
public sealed class OAuth2TraceTests(DefaultModelFixture model) : IntegrationTest(model)
{
    [Fact]
    public async Task Trace_AllCategories_NeverLogTheSecret_NorATokenNorTheSaslMessage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var authority = await LocalOidcAuthority.StartAsync();
        authority.TokenLifetime = TimeSpan.FromSeconds(3);
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
        var (clientId, secret) = authority.AddSecretClient(dovecot.User);
        var secretFile = Path.Combine(Data.FullName, "client-secret");
        await File.WriteAllTextAsync(secretFile, secret, ct);
        await dovecot.AppendAsync(OAuth2WorkerTests.Mail(0, 6));
        using var logs = new CapturingLoggerProvider();
        using (var host = OAuth2Host.Build(Model.ModelPath, Data.FullName, dovecot, authority, clientId, secretFile, logs))
        {
            await host.StartAsync(ct);
            var traceOn = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SmartMail.Worker.Imap.ImapWorker").IsEnabled(LogLevel.Trace);
            Assert.True(traceOn, "Trace is on for the worker's categories");
            var store = host.Services.GetRequiredService<IStateStore>();
            await OAuth2WorkerTests.WaitUntil(() => OAuth2WorkerTests.Acknowledged(store) == 6, TimeSpan.FromSeconds(90), "6 mails routed");
            await Task.Delay(authority.TokenLifetime, ct);
            await DovecotAdmin.KickAsync(dovecot); // every connection signs in again, with new tokens
            await dovecot.AppendAsync(OAuth2WorkerTests.Mail(6, 4));
            await OAuth2WorkerTests.WaitUntil(() => OAuth2WorkerTests.Acknowledged(store) == 10, TimeSpan.FromSeconds(90), "10 mails routed");
            authority.Revoke(clientId); // and a refusal, whose messages are logged
            await DovecotAdmin.KickAsync(dovecot);
            await OAuth2WorkerTests.WaitUntil(() => logs.Lines.Any(l => l.Level == LogLevel.Critical), TimeSpan.FromSeconds(60), "the refusal logged");
            await host.StopAsync(ct);
        }

        var lines = logs.Lines;
        Assert.Contains(lines, l => l.Level == LogLevel.Debug); // the low levels reached the capture
        Assert.True(authority.IssuedTokens.Count >= 2, $"{authority.IssuedTokens.Count} tokens");
        var forbidden = new List<(string What, string Text)> { ("the client secret", secret), ("an Authorization header", "Authorization:"), ("a bearer token", "Bearer ") };
        forbidden.AddRange(authority.IssuedTokens.Select(t => ("an access token", t)));
        var sasl = $"user={dovecot.User}\u0001auth=Bearer ";
        var aligned = Encoding.UTF8.GetBytes(sasl);
        forbidden.Add(("a base64 XOAUTH2 message", Convert.ToBase64String(aligned, 0, aligned.Length / 3 * 3)));
        forbidden.Add(("the client secret in base64", Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))));
        foreach (var (what, text) in forbidden)
        {
            var leak = lines.FirstOrDefault(l => l.Text.Contains(text, StringComparison.Ordinal));
            Assert.True(leak == default, $"{what} reached the log ({leak.Category}, {leak.Level}): {leak.Text}");
        }
    }
}
