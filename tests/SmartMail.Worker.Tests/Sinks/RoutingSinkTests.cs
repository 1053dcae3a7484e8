using SmartMail.Worker.Options;
using SmartMail.Worker.Sinks;

namespace SmartMail.Worker.Tests.Sinks;

// The pipeline asks the sink it holds, not the sink's type, whether a destination is the source's own (IMAP folders move in batches).
public sealed class RoutingSinkTests
{
    [Theory]
    [InlineData("space-desk", true)] // a Default route
    [InlineData("not-routed", true)] // no route: the default sink
    [InlineData("journal", false)]
    [InlineData("smtp-desk", false)]
    [InlineData("webhook-desk", false)]
    public void IsDefaultRoute_AskedThroughTheInterface_AnswersByTheRouteKind(string destination, bool isDefault)
    {
        var options = new SmartMailOptions();
        options.Routes["sci.space"] = new RouteOptions { Destination = "space-desk" };
        options.Routes["sci.med"] = new RouteOptions { Destination = "journal", Kind = "Folder" };
        options.Routes["rec.autos"] = new RouteOptions { Destination = "smtp-desk", Kind = "Smtp", Address = "desk@example.org" };
        options.Routes["talk.politics"] = new RouteOptions { Destination = "webhook-desk", Kind = "Webhook", Url = new Uri("https://example.org/hook") };
        IJournalSink sink = new RoutingSink(options, new FolderJournalSink("default"), new FolderJournalSink("folder"), null, null);

        Assert.Equal(isDefault, sink.IsDefaultRoute(destination));
    }

    [Fact]
    public void IsDefaultRoute_OfASinkThatDoesNotRoute_IsTrueForEveryDestination()
    {
        IJournalSink sink = new FolderJournalSink("journal");

        Assert.True(sink.IsDefaultRoute("smtp-desk"));
    }
}
