using System.Net;

namespace SmartMail.Web.Tests;

/// <summary>Every action is a POST with an anti-forgery token, checked against what the user may see, and reaches the backend with the user's name.</summary>
public sealed class ActionTests
{
    [Fact]
    public async Task Post_WithoutAntiforgeryToken_Is400_AndTheBackendIsNotCalled()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["decisionId"] = "a01-0000-0000", ["label"] = "Byg" });

        using var response = await admin.PostAsync("/triage/A?handler=Route", form, TestContext.Current.CancellationToken);
        using var signOut = await admin.PostAsync("/signout", new FormUrlEncodedContent([]), TestContext.Current.CancellationToken);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, string.Join("\n", server.Logs.Lines));
        Assert.Empty(server.Backend.Calls);
        Assert.Equal(HttpStatusCode.BadRequest, signOut.StatusCode);
    }

    [Fact]
    public async Task Suggestion_Click_RoutesWithTheUsersName()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/triage/A");
        var row = page.TestIds("mail-row")[0];

        using var response = await admin.SubmitAsync(row, "suggest-2");
        var (_, after, _) = await admin.PageAsync(response.Headers.Location!.OriginalString);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(("route", "a01-0000-0000", "Skat", "local"), Assert.Single(server.Backend.Calls));
        Assert.Equal("Skat", row.TestIds("suggest-2").Single().GetAttribute("data-label"));
        Assert.Equal("true", after.TestIds("flash").Single().GetAttribute("data-ok"));
    }

    [Fact]
    public async Task RouteSelect_AnyDepartment_Routes_AndAnUnknownOneIsRefused()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/triage/A");
        var row = page.TestIds("mail-row")[1];

        using var chosen = await admin.SubmitAsync(row, "route-submit", new Dictionary<string, string> { ["label"] = "Byg" });
        using var unknown = await admin.SubmitAsync(row, "route-submit", new Dictionary<string, string> { ["label"] = "Fortrolig" });

        Assert.Equal(["", "Byg", "Skat", "Social"], row.TestIds("route-select").Single().QuerySelectorAll("option").Select(o => o.GetAttribute("value")));
        Assert.Equal(("route", "a02-0000-0000", "Byg", "local"), Assert.Single(server.Backend.Calls));
    }

    [Fact]
    public async Task Correction_OnTheMailPage_CallsTheBackendWithTheUsersName()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/mail/aroute00-0000-0000");

        using var response = await admin.SubmitAsync(page.DocumentElement, "correct-submit", new Dictionary<string, string> { ["label"] = "Social" });

        Assert.Equal("Byg", page.TestIds("decision-label").Single().TextContent);
        Assert.DoesNotContain("Byg", page.TestIds("correct-select").Single().QuerySelectorAll("option").Select(o => o.TextContent));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(("correct", "aroute00-0000-0000", "Social", "local"), Assert.Single(server.Backend.Calls));
    }

    [Fact]
    public async Task Release_FromQuarantine_CallsTheBackend()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, page, _) = await admin.PageAsync("/quarantine");
        var row = page.TestIds("mail-row").Single();

        using var response = await admin.SubmitAsync(row, "release");

        Assert.Equal("below the threshold", row.TestIds("quarantine-reason").Single().TextContent);
        Assert.Equal(("release", "aquar000-0000-0000", null, "local"), Assert.Single(server.Backend.Calls));
    }

    [Fact]
    public async Task Promote_NeedsTheConfirmationStep()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, models, _) = await admin.PageAsync("/models");
        var promote = models.TestIds("promote-v2").Single().GetAttribute("href")!;

        var (confirmPage, confirm, _) = await admin.PageAsync(promote);
        var callsBeforeConfirming = server.Backend.Calls.Count;
        using var done = await admin.SubmitAsync(confirm.DocumentElement, "confirm");

        Assert.Empty(models.TestIds("promote-v1")); // the serving one
        Assert.Equal(HttpStatusCode.OK, confirmPage.StatusCode);
        Assert.Equal(0, callsBeforeConfirming);
        Assert.Equal(("promote", "v2", null, "local"), Assert.Single(server.Backend.Calls));
    }

    [Fact]
    public async Task Rollback_AfterConfirmation_CallsTheBackend()
    {
        await using var server = await WebServer.StartAsync();
        using var admin = await server.LocalAdminAsync();
        var (_, models, _) = await admin.PageAsync("/models");
        var (_, confirm, _) = await admin.PageAsync(models.TestIds("rollback").Single().GetAttribute("href")!);

        using var done = await admin.SubmitAsync(confirm.DocumentElement, "confirm");

        Assert.Equal(("rollback", "-", null, "local"), Assert.Single(server.Backend.Calls));
    }
}
