using System.Globalization;
using Microsoft.Playwright;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.Learning;
using SmartMail.Worker.Tests.OAuth;

namespace SmartMail.Browser.Tests;

/// <summary>The browser tests that share one <see cref="WebWorld"/> (run one after another: they share a worker and its model).</summary>
[CollectionDefinition(Name)]
public sealed class WebWorldGroup : ICollectionFixture<WebWorld>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "web";
}

/// <summary>
/// What the browser tests run against, all real: two Dovecot mailboxes (<see cref="MailboxA"/>, <see cref="MailboxB"/>), the
/// local OIDC authority with a caseworker for each mailbox (A by app role, B by group) and an admin, the worker as
/// <c>smartmail run --watch</c> with the web app signing in through the authority, a second model version in its registry
/// (to promote), and a headless chromium. When chromium or Dovecot is missing, <see cref="Require"/> skips saying which.
/// </summary>
public sealed class WebWorld : IAsyncLifetime
{
    /// <summary>The first mailbox's configured name.</summary>
    public const string MailboxA = "borgerservice";

    /// <summary>The second mailbox's configured name.</summary>
    public const string MailboxB = "teknik";

    /// <summary>The app role that makes a caseworker of <see cref="MailboxA"/>.</summary>
    public const string RoleA = "SmartMail.Caseworker.Borgerservice";

    /// <summary>The group (an object id, as Entra sends it) whose members are caseworkers of <see cref="MailboxB"/>.</summary>
    public const string GroupB = "0b6f3d5e-7a51-4f7b-9a38-2f0c1d9e4b21";

    /// <summary>The manual-triage folder (the worker's default).</summary>
    public const string TriageFolder = "_manual-triage";

    /// <summary>Caseworker of <see cref="MailboxA"/>.</summary>
    public const string Anna = "anna@kommune.test";

    /// <summary>Caseworker of <see cref="MailboxB"/>.</summary>
    public const string Bo = "bo@kommune.test";

    /// <summary>Administrator.</summary>
    public const string Ida = "ida@kommune.test";

    /// <summary>The data protection officer: the privacy role only (no mailbox, not an administrator).</summary>
    public const string Dorte = "dorte@kommune.test";

    private IPlaywright? _playwright;
    private string? _whyNot;
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("smartmail-web-");
    private readonly SemaphoreSlim _samplesOnce = new(1, 1);
    private bool _samplesAdded;

    /// <summary>The authority.</summary>
    public LocalOidcAuthority Authority { get; private set; } = null!;

    /// <summary>The servers by mailbox name.</summary>
    public IReadOnlyDictionary<string, Dovecot> Servers { get; private set; } = new Dictionary<string, Dovecot>();

    /// <summary>The worker with the web app.</summary>
    public SmartMailProcess Worker { get; private set; } = null!;

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>The worker's data directory.</summary>
    public string DataDirectory => Path.Combine(_directory.FullName, "data");

    /// <summary>The worker's ledger.</summary>
    public string StateDb => Path.Combine(DataDirectory, "state.db");

    /// <summary>The version of the model the registry holds besides the shipped one (a candidate, to promote).</summary>
    public string CandidateVersion { get; private set; } = string.Empty;

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        _whyNot = Chromium.WhyNot;
        if (_whyNot is null && (await DovecotInstall.EnsureAsync()) is { Binaries: null } dovecot)
        {
            _whyNot = dovecot.WhyNot;
        }
        if (_whyNot is not null)
        {
            return;
        }

        Authority = await LocalOidcAuthority.StartAsync();
        Authority.AddUser(Anna, "Anna Andersen", roles: [RoleA]);
        Authority.AddUser(Bo, "Bo Berg", groups: [GroupB]);
        Authority.AddUser(Ida, "Ida Iversen", roles: ["SmartMail.Admin"]);
        Authority.AddUser(Dorte, "Dorte Dahl", roles: ["SmartMail.Privacy"]);
        Servers = new Dictionary<string, Dovecot>
        {
            [MailboxA] = await Dovecot.StartAsync(),
            [MailboxB] = await Dovecot.StartAsync(),
        };
        // The worker refuses a data directory others can read (it holds raw mail, the ledger, the web keys).
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        CandidateVersion = AddCandidateModel();

        var secretFile = Path.Combine(_directory.FullName, "oidc-client-secret");
        var settings = new List<string>
        {
            $"SmartMail:DataDirectory={DataDirectory}",
            $"SmartMail:ModelPath={SmartMailProcess.DanishModel}",
            $"SmartMail:Web:Oidc:Authority={Authority.Issuer}",
            $"SmartMail:Web:Oidc:ClientSecretFile={secretFile}",
            $"SmartMail:Web:Oidc:CaCertificateFile={Authority.CaFile}",
            $"SmartMail:Web:Oidc:MailboxRoles:{RoleA}:0={MailboxA}",
            $"SmartMail:Web:Oidc:MailboxRoles:{GroupB}:0={MailboxB}",
            "SmartMail:Web:RefreshInterval=00:00:02", // the live waiting count, quickly
        };
        foreach (var ((name, server), i) in Servers.Select((s, i) => (s, i)))
        {
            var p = $"SmartMail:Mailboxes:{i}:";
            settings.AddRange([$"{p}Name={name}", $"{p}Host=127.0.0.1", $"{p}Port={server.Port.ToString(CultureInfo.InvariantCulture)}", $"{p}Security=None",
                $"{p}AllowPlaintext=true", $"{p}Username={server.User}", $"{p}Password={server.Password}", $"{p}PollInterval=00:00:01",
                $"{p}CommandTimeout=00:00:20"]);
        }
        // The redirect URI is registered exactly, as in an Entra ID app registration; the port is the one the worker gets.
        Worker = await SmartMailProcess.StartAsync(_directory.FullName, settings, beforeStart: webUrl =>
        {
            var (clientId, secret) = Authority.AddWebClient(new Uri(webUrl, "/signin-oidc"));
            File.WriteAllText(secretFile, secret);
            return [$"SmartMail:Web:Oidc:ClientId={clientId}"];
        });

        (_playwright, Browser) = await Chromium.LaunchAsync();
    }

    /// <summary>Skips the test when chromium or Dovecot is missing.</summary>
    public void Require() => Assert.SkipWhen(_whyNot is not null, _whyNot ?? string.Empty);

    /// <summary>A fresh browser context (its own cookies) on the web app, its browser set to <paramref name="locale"/> (Accept-Language).</summary>
    /// <param name="locale">The browser's language: Danish, as a caseworker's, unless a test asks for another.</param>
    /// <param name="reducedMotion">Whether the browser asks for reduced motion.</param>
    /// <returns>The context.</returns>
    public Task<IBrowserContext> NewContextAsync(string locale = "da-DK", bool reducedMotion = false) => Browser.NewContextAsync(new()
    {
        BaseURL = Worker.WebUrl.ToString(),
        IgnoreHTTPSErrors = true, // the authority's certificate is from the test CA, which chromium does not know
        ViewportSize = new() { Width = 1280, Height = 900 },
        Locale = locale,
        TimezoneId = "Europe/Copenhagen",
        ReducedMotion = reducedMotion ? ReducedMotion.Reduce : ReducedMotion.NoPreference,
    });

    /// <summary>Signs <paramref name="login"/> in through the authority's "choose user" page, starting at <paramref name="path"/>.</summary>
    /// <param name="context">The browser context.</param>
    /// <param name="login">The user.</param>
    /// <param name="path">The page asked for first.</param>
    /// <returns>The page, signed in, back at <paramref name="path"/>.</returns>
    public async Task<IPage> SignInAsync(IBrowserContext context, string login, string path = "/")
    {
        ArgumentNullException.ThrowIfNull(context);
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(Worker.WebUrl, path).ToString());
        await page.GetByTestId("oidc-user-" + login).ClickAsync();
        try
        {
            await Assertions.Expect(page.GetByTestId("user-name")).ToBeVisibleAsync(new() { Timeout = 20_000 });
        }
        catch (PlaywrightException ex)
        {
            throw new InvalidOperationException($"{login} is not signed in at {page.Url}: {ex.Message}\nWorker output:\n{WorkerOutput}", ex);
        }
        return page;
    }

    /// <summary>Appends a mail to a mailbox's INBOX.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="mail">The mail (CRLF line ends).</param>
    /// <returns>Its fingerprint.</returns>
    public async Task<string> AppendAsync(string mailbox, string mail) =>
        (await Servers[mailbox].AppendFingerprintedAsync([System.Text.Encoding.UTF8.GetBytes(mail)])).Single();

    /// <summary>Puts a new mail in <see cref="MailboxA"/>'s manual triage (the model is unsure of it) and waits until it is there.</summary>
    /// <returns>Its fingerprint, decision id and subject.</returns>
    public async Task<(string Fingerprint, string DecisionId, string Subject)> TriageMailAsync()
    {
        var (mail, subject) = TestMails.ForTriage(TestMails.Tag());
        var fingerprint = await AppendAsync(MailboxA, mail);
        var (decisionId, destination) = await WaitForDecisionAsync(MailboxA, fingerprint);
        Assert.True(destination == TriageFolder, $"the test mail was meant for manual triage, the worker sent it to {destination}");
        return (fingerprint, decisionId, subject);
    }

    /// <summary>
    /// Once per world: the quick start's Danish sample mails in <see cref="MailboxA"/>, four the demo model routes by itself to
    /// their KLE main group and the two it leaves to a caseworker (so the pages show Danish mail and KLE groups); checks each
    /// went where the README says.
    /// </summary>
    /// <returns>A task.</returns>
    public async Task DanishSamplesAsync()
    {
        await _samplesOnce.WaitAsync();
        try
        {
            if (_samplesAdded)
            {
                return;
            }
            var tag = TestMails.Tag();
            foreach (var (sample, routed) in new[]
                     {
                         ("01-storskrald", true), ("04-nyhedsbrev-html", true), ("07-hjemmehjaelp", true), ("09-nabo-stoej", true),
                         ("06-svar-paa-sag", false), ("08-flytning", false),
                     })
            {
                var (_, destination) = await WaitForDecisionAsync(MailboxA, await AppendAsync(MailboxA, TestMails.Sample(sample, tag)));
                Assert.True(routed == (destination != TriageFolder), $"{sample}: {destination}");
            }
            _samplesAdded = true;
        }
        finally
        {
            _samplesOnce.Release();
        }
    }

    /// <summary>Waits until the worker has delivered the mail with <paramref name="fingerprint"/> and recorded the delivery.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>Its decision id and destination.</returns>
    public async Task<(string DecisionId, string Destination)> WaitForDecisionAsync(string mailbox, string fingerprint)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var folders = (await Servers[mailbox].InventoryAsync()).Where(m => m.Fingerprint == fingerprint).Select(m => m.Folder).ToList();
            // Delivered (state 2) or acknowledged (3) in the ledger, not only moved on the server: the pages list a mail once its
            // delivery is recorded, a moment after the IMAP MOVE (a page loaded in between showed an empty triage queue).
            var row = LedgerQuery.Rows(StateDb, $"SELECT decision_id, destination FROM mail WHERE mailbox='{mailbox}' AND fingerprint='{fingerprint}' AND state IN (2, 3)")
                .FirstOrDefault();
            if (row is not null && folders is [var folder] && folder != "INBOX")
            {
                var parts = row.Split(" | ");
                return (parts[0], parts[1]);
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"The mail {fingerprint[..12]} of {mailbox} was not delivered in 60 s. Worker output:\n" + string.Join('\n', Worker.Lines.TakeLast(40)));
    }

    /// <summary>The folders holding the mail with <paramref name="fingerprint"/> (one entry per copy).</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>The folder names.</returns>
    public async Task<List<string>> FoldersOfAsync(string mailbox, string fingerprint) =>
        [.. (await Servers[mailbox].InventoryAsync()).Where(m => m.Fingerprint == fingerprint).Select(m => m.Folder)];

    /// <summary>The IMAP folder the worker routes <paramref name="label"/> to on this server (the label as a safe name, the hierarchy separator replaced).</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="label">The label (no route is configured, so the folder is named after it).</param>
    /// <returns>The folder name.</returns>
    public async Task<string> FolderOfLabelAsync(string mailbox, string label)
    {
        using var client = await Servers[mailbox].ClientAsync();
        var separator = client.PersonalNamespaces[0].DirectorySeparator;
        await client.DisconnectAsync(true);
        return SmartMail.Worker.Sinks.FolderJournalSink.SafeName(label).Replace(separator, '_');
    }

    /// <summary>The worker's output, for failure messages.</summary>
    public string WorkerOutput => string.Join('\n', Worker.Lines.TakeLast(60));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _samplesOnce.Dispose();
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
        if (Worker is not null)
        {
            await Worker.DisposeAsync();
        }
        foreach (var server in Servers.Values)
        {
            await server.DisposeAsync();
        }
        if (Authority is not null)
        {
            await Authority.DisposeAsync();
        }
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }

    private string AddCandidateModel()
    {
        var folders = Topics.WriteHistory(Path.Combine(_directory.FullName, "history"), 20, Topics.Space, Topics.Cars, Topics.Parking);
        using var bundle = ModelTraining.Train(TrainingSet.FromFolders(folders, new MailExtractor()), new TrainingOptions { Seed = 17 }).Bundle;
        // The registry lives in the state store: the worker started next opens the same state.db.
        SmartMail.Worker.Options.DataDirectoryPermissions.Prepare(DataDirectory, "state.db");
        using var store = new SmartMail.Worker.State.SqliteStateStore(StateDb);
        var registry = ModelRegistry.For(new SmartMailOptions { DataDirectory = DataDirectory, ModelPath = SmartMailProcess.DanishModel }, store);
        registry.EnsureSeeded();
        return registry.Add(bundle, "candidate").Version;
    }
}
