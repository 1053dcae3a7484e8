using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>The repository's own test Dovecot (<see cref="Dovecot"/>): what the other integration tests and the Microsoft 365 tests rely on.</summary>
public sealed class DovecotFixtureTests
{
    private static IEnumerable<byte[]> Mails(int count) =>
        Enumerable.Range(1, count).Select(n => Encoding.UTF8.GetBytes(SmartMail.Worker.Tests.Mails.Space(n)));

    private static async Task<(uint UidValidity, IList<UniqueId> Uids)> InboxUidsAsync(Dovecot dovecot)
    {
        using var client = await dovecot.ClientAsync();
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly, TestContext.Current.CancellationToken);
        var uids = await client.Inbox.SearchAsync(MailKit.Search.SearchQuery.All, TestContext.Current.CancellationToken);
        var validity = client.Inbox.UidValidity;
        await client.DisconnectAsync(true, TestContext.Current.CancellationToken);
        return (validity, uids);
    }

    [Fact]
    public async Task SeveralAccounts_EachHasItsOwnInbox_AndSignsInWithItsOwnPassword()
    {
        await using var dovecot = await Dovecot.StartAsync(accounts: 3);
        Assert.Equal(3, dovecot.Accounts.Select(a => a.User).Distinct().Count());
        Assert.Equal((dovecot.User, dovecot.Password), dovecot.Accounts[0]);

        var second = await dovecot.AppendFingerprintedAsync(Mails(2), account: 1);
        await dovecot.AppendAsync(Mails(1), account: 2);

        Assert.Empty(await dovecot.InventoryAsync());
        Assert.Equal(second.Order(), (await dovecot.InventoryAsync(account: 1)).Select(m => m.Fingerprint).Order());
        Assert.Single(await dovecot.InventoryAsync(account: 2));
        Assert.Equal(dovecot.Accounts[2].User, dovecot.Options("third", account: 2).Username);
        // One account's password does not open another's mailbox.
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", dovecot.Port, SecureSocketOptions.None, TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<AuthenticationException>(() =>
            client.AuthenticateAsync(dovecot.Accounts[1].User, dovecot.Accounts[2].Password, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task StopAsync_ThenStartAgain_SamePortKeepsMailUidsAndUidValidity()
    {
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Mails(3));
        var before = await InboxUidsAsync(dovecot);

        await dovecot.StopAsync();
        using (var probe = new TcpClient())
        {
            await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync("127.0.0.1", dovecot.Port, TestContext.Current.CancellationToken).AsTask());
        }
        await dovecot.StartAgainAsync();
        var after = await InboxUidsAsync(dovecot);

        Assert.Equal(3, before.Uids.Count);
        Assert.Equal(before.UidValidity, after.UidValidity);
        Assert.Equal(before.Uids, after.Uids);
    }

    [Fact]
    public async Task ResetUidValidityAsync_KeepsMail_NewUidValidity()
    {
        await using var dovecot = await Dovecot.StartAsync();
        await dovecot.AppendAsync(Mails(2));
        var before = await InboxUidsAsync(dovecot);
        var inventory = await dovecot.InventoryAsync();

        await dovecot.ResetUidValidityAsync();
        var after = await InboxUidsAsync(dovecot);

        Assert.NotEqual(before.UidValidity, after.UidValidity);
        Assert.Equal(2, after.Uids.Count);
        Assert.Equal(inventory.Select(m => m.Fingerprint).Order(), (await dovecot.InventoryAsync()).Select(m => m.Fingerprint).Order());
    }

    [Fact]
    public async Task StartAsync_TwoServersAtOnce_EachHasItsOwnPortsAccountAndMail()
    {
        await using var one = await Dovecot.StartAsync(tls: true);
        await using var two = await Dovecot.StartAsync(tls: true);

        await one.AppendAsync(Mails(2));

        Assert.Equal(4, new[] { one.Port, one.TlsPort!.Value, two.Port, two.TlsPort!.Value }.Distinct().Count());
        Assert.NotEqual(one.User, two.User);
        Assert.Equal(2, (await one.InventoryAsync()).Count);
        Assert.Empty(await two.InventoryAsync());
    }

    [Fact]
    public async Task StartAsync_Tls_ImapsAndStartTlsPresentACertificateOfTheThrowawayCa()
    {
        await using var dovecot = await Dovecot.StartAsync(tls: true);
        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(dovecot.CaFile));

        foreach (var (port, security) in new[] { (dovecot.TlsPort!.Value, SecureSocketOptions.SslOnConnect), (dovecot.Port, SecureSocketOptions.StartTls) })
        {
            using var client = new ImapClient();
            client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new System.Security.Cryptography.X509Certificates.X509Chain();
                chain.ChainPolicy.TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate));
            };
            await client.ConnectAsync("localhost", port, security, TestContext.Current.CancellationToken);
            await client.AuthenticateAsync(dovecot.User, dovecot.Password, TestContext.Current.CancellationToken);
            Assert.True(client.IsSecure);
            await client.DisconnectAsync(true, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task StartAsync_WithoutMove_HidesMoveAndKeepsUidPlus()
    {
        await using var dovecot = await Dovecot.StartAsync(extra: Dovecot.WithoutMove);

        using var client = await dovecot.ClientAsync();

        Assert.False(client.Capabilities.HasFlag(ImapCapabilities.Move));
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.UidPlus));
    }

    [Fact]
    public async Task StartAsync_ExchangeOnline_ShowsItsCapabilitiesSeparatorAndFolders()
    {
        await using var dovecot = await Dovecot.StartAsync(profile: DovecotProfile.ExchangeOnline);

        using var client = await dovecot.ClientAsync();
        var personal = client.PersonalNamespaces[0];
        var root = client.GetFolder(personal);
        var folders = (await root.GetSubfoldersAsync(false, TestContext.Current.CancellationToken)).Select(f => f.FullName).ToList();
        var dotted = await root.CreateAsync("Sag 2026.17", true, TestContext.Current.CancellationToken);
        Assert.NotNull(dotted);
        var nested = await dotted.CreateAsync("Bilag", true, TestContext.Current.CancellationToken);

        foreach (var capability in new[] { ImapCapabilities.Move, ImapCapabilities.UidPlus, ImapCapabilities.Idle, ImapCapabilities.SaslIR, ImapCapabilities.Id, ImapCapabilities.Unselect, ImapCapabilities.Children, ImapCapabilities.Namespace, ImapCapabilities.LiteralPlus })
        {
            Assert.True(client.Capabilities.HasFlag(capability), $"{capability} missing");
        }
        foreach (var capability in new[] { ImapCapabilities.CondStore, ImapCapabilities.QuickResync, ImapCapabilities.Enable, ImapCapabilities.SpecialUse, ImapCapabilities.ESearch })
        {
            Assert.False(client.Capabilities.HasFlag(capability), $"{capability} present");
        }
        Assert.Equal('/', personal.DirectorySeparator);
        Assert.Equal(["Archive", "Deleted Items", "Drafts", "INBOX", "Junk Email", "Sent Items"], folders.Order(StringComparer.Ordinal));
        Assert.Equal("Sag 2026.17/Bilag", nested?.FullName);
    }

    [Fact]
    public async Task StartAsync_OAuth2_XOAuth2AndOAuthBearerLogInOnlyWhileTheIntrospectionEndpointSaysActive()
    {
        await using var endpoint = await OAuth.LocalOidcAuthority.StartAsync();
        await using var dovecot = await Dovecot.StartAsync(tls: true, oauth2IntrospectionUrl: endpoint.BackChannelIntrospectionEndpoint);
        var token = endpoint.IssueToken(dovecot.User, "at-" + Guid.NewGuid().ToString("N"));
        var forOther = endpoint.IssueToken("someone-else", "at-" + Guid.NewGuid().ToString("N"));

        async Task<bool> LogsInAsync(SaslMechanism mechanism)
        {
            using var client = new ImapClient();
            await client.ConnectAsync("127.0.0.1", dovecot.Port, SecureSocketOptions.None, TestContext.Current.CancellationToken);
            try
            {
                await client.AuthenticateAsync(mechanism, TestContext.Current.CancellationToken);
                await client.Inbox.OpenAsync(FolderAccess.ReadOnly, TestContext.Current.CancellationToken);
                return true;
            }
            catch (AuthenticationException)
            {
                return false;
            }
        }

        Assert.True(await LogsInAsync(new SaslMechanismOAuth2(dovecot.User, token)), dovecot.Log());
        Assert.True(await LogsInAsync(new SaslMechanismOAuthBearer(dovecot.User, token)), dovecot.Log());
        Assert.False(await LogsInAsync(new SaslMechanismOAuth2(dovecot.User, "not-issued")));
        Assert.False(await LogsInAsync(new SaslMechanismOAuth2(dovecot.User, forOther)));
        endpoint.RevokeToken(token);
        Assert.False(await LogsInAsync(new SaslMechanismOAuth2(dovecot.User, token)));
        Assert.False(await LogsInAsync(new SaslMechanismOAuthBearer(dovecot.User, token)));
        Assert.Contains("not-issued", endpoint.Introspected);
        Assert.Equal(4, endpoint.Introspected.Count(t => t == token));
        Assert.True(await LogsInAsync(new SaslMechanismPlain(dovecot.User, dovecot.Password)));
    }

    [Fact]
    public async Task StartAsync_ExchangeOnlineWithOAuth2AndTls_AllCombine()
    {
        await using var endpoint = await OAuth.LocalOidcAuthority.StartAsync();
        await using var dovecot = await Dovecot.StartAsync(tls: true, profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: endpoint.BackChannelIntrospectionEndpoint);
        var token = endpoint.IssueToken(dovecot.User, "at-" + Guid.NewGuid().ToString("N"));
        using var client = new ImapClient();
        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(dovecot.CaFile));
        client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate).Issuer == ca.Subject;
        await client.ConnectAsync("127.0.0.1", dovecot.TlsPort!.Value, SecureSocketOptions.SslOnConnect, TestContext.Current.CancellationToken);
        await client.AuthenticateAsync(new SaslMechanismOAuth2(dovecot.User, token), TestContext.Current.CancellationToken);

        Assert.Equal('/', client.PersonalNamespaces[0].DirectorySeparator);
        Assert.False(client.Capabilities.HasFlag(ImapCapabilities.CondStore));
    }
}
