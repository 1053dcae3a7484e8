using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace SmartMail.Web.Pages;

/// <summary><c>/login</c>: OpenID Connect sign-in, or (without it) where to find the one-time link.</summary>
public sealed class LoginModel(WebOptions options) : PageModel
{
    public IActionResult OnGet(string? returnUrl)
    {
        if (options.UsesOidc)
        {
            var back = !string.IsNullOrEmpty(returnUrl) && Url.IsLocalUrl(returnUrl) ? returnUrl : "/";
            return Challenge(new AuthenticationProperties { RedirectUri = back }, WebApp.OidcScheme);
        }
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Page();
    }
}
