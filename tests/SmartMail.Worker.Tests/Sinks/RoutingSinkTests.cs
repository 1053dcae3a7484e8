using System.Text;
using Microsoft.Extensions.Configuration;
using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Tests.Sinks;

// The pipeline asks the sink it holds, not the sink's type, which destinations go in batches (an IMAP mailbox's own folders).
public sealed class RoutingSinkTests
{
    [Theory]
    [InlineData("space-desk", true)] // a Default route
    [InlineData("not-routed", true)] // no route: the default sink
    [InlineData("journal", false)]
    [InlineData("smtp-desk", false)]
    [InlineData("webhook-desk", false)]
    public void DeliversInBatches_AskedThroughTheInterface_AnswersByTheRouteKindAndTheDefaultSink(string destination, bool inBatches)
    {
        var options = new SmartMailOptions();
        options.Routes["sci.space"] = new RouteOptions { Destination = "space-desk" };
        options.Routes["sci.med"] = new RouteOptions { Destination = "journal", Kind = RouteKind.Folder };
        options.Routes["rec.autos"] = new RouteOptions { Destination = "smtp-desk", Kind = RouteKind.Smtp, Address = "desk@example.org" };
        options.Routes["talk.politics"] = new RouteOptions { Destination = "webhook-desk", Kind = RouteKind.Webhook, Url = new Uri("https://example.org/hook") };
        IMailSink sink = new RoutingSink(options, new BatchSink(), new FolderJournalSink("folder"), null, null);

        Assert.Equal(inBatches, sink.DeliversInBatches(destination));
    }

    // The drop folder's default route is the journal: one mail at a time, whatever the route.
    [Fact]
    public async Task DeliversInBatches_OverASinkThatDeliversOneByOne_IsFalseForEveryDestination()
    {
        IMailSink sink = new RoutingSink(new SmartMailOptions(), new FolderJournalSink("journal"), new FolderJournalSink("folder"), null, null);

        Assert.False(sink.DeliversInBatches("not-routed"));
        await Assert.ThrowsAsync<NotSupportedException>(() => sink.DeliverBatchAsync([], null!, CancellationToken.None));
    }

    // The kind is an enum bound by name: a misspelt kind is a start-up error naming the setting and the four kinds, any
    // spelling of a right one binds.
    [Fact]
    public void Kind_FromSettings_BindsByName_AndAMisspeltOneIsAnErrorNamingTheSetting()
    {
        var json = """{ "SmartMail": { "Routes": { "skat": { "Kind": "smtp" }, "byg": { "Kind": "Smpt" } } } }""";
        var section = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection(SmartMailOptions.SectionName);

        var problem = Assert.Single(SettingsBindingValidator.Problems(section, typeof(SmartMailOptions)));
        Assert.Equal("SmartMail:Routes:byg:Kind: 'Smpt' is not one of Default, Folder, Smtp, Webhook.", problem);
        Assert.Equal(RouteKind.Smtp, section.GetSection("Routes:skat").Get<RouteOptions>()!.Kind);
    }

    private sealed class BatchSink : IMailSink
    {
        public Task DeliverAsync(Delivery delivery, CancellationToken cancellationToken) => Task.CompletedTask;

        public bool DeliversInBatches(string destination) => true;
    }
}
