using Microsoft.Playwright;
using SmartMail.Worker.Learning;
using SmartMail.Worker.Options;
using SmartMail.Worker.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace SmartMail.Browser.Tests;

/// <summary>An admin promotes a model and rolls it back in the browser: each after a confirmation, each in the audit trail by name.</summary>
[Collection(WebWorldGroup.Name)]
public sealed class ModelAdminTests(WebWorld world)
{
    [Fact]
    public async Task Admin_PromotesACandidateAfterConfirming_ThenRollsBack_TheRegistryServesEach_AndTheAuditNamesTheAdmin()
    {
        world.Require();
        using var store = new SmartMail.Worker.State.SqliteStateStore(world.StateDb);
        var registry = ModelRegistry.For(new SmartMailOptions { DataDirectory = world.DataDirectory, ModelPath = SmartMailProcess.DanishModel }, store);
        var served = registry.CurrentVersion();
        Assert.NotEqual(world.CandidateVersion, served);
        await using var context = await world.NewContextAsync();
        var page = await world.SignInAsync(context, WebWorld.Ida, "/models");
        await Screenshots.SaveAsync(page, "models");

        // Cancelling the confirmation changes nothing.
        await page.GetByTestId("promote-" + world.CandidateVersion).ClickAsync();
        await page.GetByTestId("cancel").ClickAsync();
        Assert.Equal(served, registry.CurrentVersion());

        await page.GetByTestId("promote-" + world.CandidateVersion).ClickAsync();
        await Expect(page.GetByTestId("confirm")).ToBeVisibleAsync();
        await Screenshots.SaveAsync(page, "models-confirm");
        Assert.Equal(served, registry.CurrentVersion()); // the confirmation page itself does nothing
        await page.GetByTestId("confirm-reason").FillAsync("better on the new departments");
        await page.GetByTestId("confirm").ClickAsync();

        await Expect(page.GetByTestId("flash")).ToHaveAttributeAsync("data-ok", "true");
        await Expect(page.Locator($"[data-testid=model-row][data-version='{world.CandidateVersion}']")).ToHaveAttributeAsync("data-current", "true");
        Assert.Equal(world.CandidateVersion, registry.CurrentVersion());

        await page.GetByTestId("rollback").ClickAsync();
        await page.GetByTestId("confirm").ClickAsync();

        await Expect(page.GetByTestId("flash")).ToHaveAttributeAsync("data-ok", "true");
        await Expect(page.Locator($"[data-testid=model-row][data-version='{served}']")).ToHaveAttributeAsync("data-current", "true");
        Assert.Equal(served, registry.CurrentVersion());
        // The audit rows name the admin in their own column (the free-text reason masks addresses).
        var audit = LedgerQuery.Rows(world.StateDb, "SELECT outcome, model_version, by_whom FROM audit WHERE outcome IN ('promote', 'rollback') ORDER BY seq");
        Assert.Equal([$"promote | {world.CandidateVersion} | {WebWorld.Ida}", $"rollback | {served} | {WebWorld.Ida}"], audit);
        // The same rows, committed with the registry change, reach the worker's audit.jsonl.
        var mirrored = File.ReadAllLines(Path.Combine(world.DataDirectory, "audit.jsonl"))
            .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).Where(l => (string?)l["outcome"] is "promote" or "rollback")
            .Select(l => $"{(string?)l["outcome"]} | {(string?)l["modelVersion"]} | {(string?)l["by"]}");
        Assert.Equal(audit, mirrored);
        Assert.Equal(["promote", "rollback"], registry.Read().History.TakeLast(2).Select(e => e.Action));
        Assert.All(registry.Read().History.TakeLast(2), e => Assert.Contains(WebWorld.Ida, e.Reason, StringComparison.Ordinal));
    }
}
