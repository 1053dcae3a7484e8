namespace SmartMail.Web;

/// <summary>The app's stylesheet and its one small script (served from memory: no static files, no build toolchain).</summary>
internal static class Assets
{
    public const string Css = """
        :root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #f6f7f9; }
        body { margin: 0; }
        nav { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #12355b; color: #fff; flex-wrap: wrap; }
        nav a, nav button { color: #fff; text-decoration: none; background: none; border: 0; font: inherit; cursor: pointer; }
        nav .user { margin-left: auto; }
        main { padding: 1rem 1.2rem; max-width: 80rem; }
        h1 { font-size: 1.4rem; }
        .flash { padding: .6rem 1rem; border-radius: .3rem; margin-bottom: 1rem; background: #e3f2e5; }
        .flash[data-ok="false"] { background: #fbe4e4; }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
        .card, .row { background: #fff; border: 1px solid #d8dde3; border-radius: .4rem; padding: .8rem 1rem; margin-bottom: .8rem; }
        .row:focus { outline: 3px solid #2f6fb3; }
        .meta { color: #555; font-size: .9rem; }
        .preview { white-space: pre-wrap; font-size: .92rem; background: #fafafa; padding: .5rem; border-radius: .3rem; max-height: 9rem; overflow: hidden; }
        .fulltext { white-space: pre-wrap; background: #fff; border: 1px solid #d8dde3; padding: 1rem; }
        button, select, input { font: inherit; }
        .suggest { border: 1px solid #2f6fb3; background: #eaf2fb; border-radius: .3rem; padding: .2rem .6rem; cursor: pointer; }
        .suggest kbd { font-size: .8rem; color: #555; }
        table { border-collapse: collapse; background: #fff; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dt { color: #555; }
        .inline { display: inline; }
        .pager { display: flex; gap: 1rem; margin: 1rem 0; }
        .bad { color: #b00020; }
        svg text { font-size: 10px; fill: #333; }
        """;

    public const string Script = """
        "use strict";
        // Triage: 1/2/3 route the focused mail to the model's top-3; j/k move between mails.
        document.addEventListener("keydown", (e) => {
          if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest("input, select, textarea")) return;
          const row = document.activeElement && document.activeElement.closest('[data-testid="mail-row"]');
          if (!row) return;
          if (e.key === "1" || e.key === "2" || e.key === "3") {
            const button = row.querySelector('[data-testid="suggest-' + e.key + '"]');
            if (button) { e.preventDefault(); button.click(); }
          } else if (e.key === "j" || e.key === "k") {
            const rows = Array.from(document.querySelectorAll('[data-testid="mail-row"]'));
            const next = rows[rows.indexOf(row) + (e.key === "j" ? 1 : -1)];
            if (next) { e.preventDefault(); next.focus(); }
          }
        });
        // One submit per form: a double click sends one request (the worker makes a repeat harmless anyway).
        document.addEventListener("submit", (e) => {
          if (e.target.dataset.sent) { e.preventDefault(); return; }
          e.target.dataset.sent = "1";
        });
        window.addEventListener("DOMContentLoaded", () => {
          const first = document.querySelector('[data-testid="triage-list"] [data-testid="mail-row"]');
          if (first && (document.activeElement === document.body || !document.activeElement)) first.focus();
        });
        """;
}
