using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace SmartMail.Web.Pages;

/// <summary><c>/language?to=en&amp;back=/…</c>: the language switch; remembers the choice in a cookie for a year and goes back.</summary>
public sealed class LanguageModel : PageModel
{
    public IActionResult OnGet(string? to, string? back)
    {
        if (to is null || !WebOptions.Languages.Contains(to, StringComparer.Ordinal))
        {
            return BadRequest();
        }
        Response.Cookies.Append(Format.LanguageCookie, CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(to)), new CookieOptions
        {
            Expires = DateTimeOffset.UtcNow.AddYears(1),
            HttpOnly = true,
            IsEssential = true,
            SameSite = SameSiteMode.Lax,
            Secure = Request.IsHttps,
        });
        return LocalRedirect(!string.IsNullOrEmpty(back) && Url.IsLocalUrl(back) ? back : "/");
    }
}
