using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using SmartMail.Web;

namespace SmartMail.Web.Tests;

/// <summary>The web app on Kestrel on 127.0.0.1 (a free port) over the fake backend, with every log line it writes kept.</summary>
internal sealed class WebServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ILoggerFactory _loggers;

    private WebServer(WebApplication app, ILoggerFactory loggers, LogLines logs, FakeBackend backend, OneTimeSignIn signIn, WebOptions options)
    {
        _app = app;
        _loggers = loggers;
        Logs = logs;
        Backend = backend;
        SignIn = signIn;
        Options = options;
        BaseAddress = new Uri(app.Urls.First());
    }

    public Uri BaseAddress { get; }

    public LogLines Logs { get; }

    public FakeBackend Backend { get; }

    public OneTimeSignIn SignIn { get; }

    public WebOptions Options { get; }

    public static async Task<WebServer> StartAsync(WebOptions? options = null, RemoteCertificateValidationCallback? oidcTrust = null, int routedInA = 0,
        TimeProvider? time = null, IPrivacyRequests? privacy = null)
    {
        options ??= new WebOptions();
        options.Url = "http://127.0.0.1:0";
        var logs = new LogLines();
        var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var backend = new FakeBackend(routedInA);
        var signIn = new OneTimeSignIn();
        var app = WebApp.Create(options, new WebAppContext(backend, backend, loggers) { SignIn = signIn, OidcCertificateValidation = oidcTrust, Time = time ?? TimeProvider.System, AccessAudit = backend, Privacy = privacy });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new WebServer(app, loggers, logs, backend, signIn, options);
    }

    /// <summary>A browser-like client: its own cookies, no automatic redirects.</summary>
    public HttpClient Client(RemoteCertificateValidationCallback? trust = null) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer(), SslOptions = { RemoteCertificateValidationCallback = trust } })
        {
            BaseAddress = BaseAddress,
        };

    /// <summary>A client signed in as the local administrator through the one-time link.</summary>
    public async Task<HttpClient> LocalAdminAsync()
    {
        var client = Client();
        using var response = await client.GetAsync($"/signin?token={SignIn.Token}", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _loggers.Dispose();
    }

    /// <summary>Every formatted log line, with its category.</summary>
    internal sealed class LogLines : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Line(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Line(LogLines owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {exception}");
        }
    }
}

/// <summary>Reading pages and posting their forms.</summary>
internal static class Html
{
    public static async Task<(HttpResponseMessage Response, IDocument Page, string Body)> PageAsync(this HttpClient client, string path)
    {
        var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response, new HtmlParser().ParseDocument(body), body);
    }

    public static IReadOnlyList<IElement> TestIds(this IParentNode page, string testId) => [.. page.QuerySelectorAll($"[data-testid=\"{testId}\"]")];

    /// <summary>
    /// Posts the form that is (or holds) the element with <paramref name="testId"/>, with its anti-forgery token and hidden
    /// fields plus <paramref name="values"/> (repeatable names, as ticked checkboxes send them); <paramref name="replace"/> drops
    /// the form's own fields of the same names.
    /// </summary>
    public static async Task<HttpResponseMessage> PostFormAsync(this HttpClient client, IParentNode page, string testId, IReadOnlyList<(string Name, string Value)> values, bool replace = false)
    {
        var element = page.QuerySelector($"[data-testid=\"{testId}\"]") ?? throw new InvalidOperationException($"no {testId}");
        var form = element.LocalName == "form" ? element : element.Closest("form") ?? throw new InvalidOperationException($"{testId} is in no form");
        var fields = form.QuerySelectorAll("input[type=hidden][name]")
            .Select(f => KeyValuePair.Create(f.GetAttribute("name")!, f.GetAttribute("value") ?? string.Empty))
            .Where(f => !replace || values.All(v => v.Name != f.Key))
            .Concat(values.Select(v => KeyValuePair.Create(v.Name, v.Value))).ToList();
        using var content = new FormUrlEncodedContent(fields);
        return await client.PostAsync(form.GetAttribute("action") ?? throw new InvalidOperationException("a form without action"), content, TestContext.Current.CancellationToken);
    }

    /// <summary>Posts the form around the element with <paramref name="testId"/> (its fields, the anti-forgery token included).</summary>
    public static async Task<HttpResponseMessage> SubmitAsync(this HttpClient client, IElement within, string testId, IDictionary<string, string>? values = null)
    {
        var button = within.QuerySelector($"[data-testid=\"{testId}\"]") ?? throw new InvalidOperationException($"no {testId}");
        var form = button.Closest("form") ?? throw new InvalidOperationException($"{testId} is in no form");
        var fields = form.QuerySelectorAll("input[name], select[name]")
            .Select(f => KeyValuePair.Create(f.GetAttribute("name")!, f is AngleSharp.Html.Dom.IHtmlSelectElement s ? s.Value ?? string.Empty : f.GetAttribute("value") ?? string.Empty))
            .Where(f => values is null || !values.ContainsKey(f.Key))
            .Concat(values ?? new Dictionary<string, string>()).ToList();
        using var content = new FormUrlEncodedContent(fields);
        return await client.PostAsync(form.GetAttribute("action") ?? throw new InvalidOperationException("a form without action"), content, TestContext.Current.CancellationToken);
    }
}
