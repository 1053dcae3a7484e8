namespace SmartMail.Web;

/// <summary>The app's stylesheet and its one small script (served from memory: no static files, no build toolchain).</summary>
internal static class Assets
{
    public const string Css = """
        :root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #f6f7f9; }
        body { margin: 0; }
        nav[data-testid="nav"] { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #12355b; color: #fff; flex-wrap: wrap; }
        nav[data-testid="nav"] a, nav[data-testid="nav"] button { color: #fff; text-decoration: none; background: none; border: 0; font: inherit; cursor: pointer; }
        nav[data-testid="nav"] a:hover, nav[data-testid="nav"] button:hover, nav a[aria-current="page"] { text-decoration: underline; }
        nav .user { margin-left: auto; }
        nav .count { display: inline-block; min-width: 1.4em; padding: 0 .35em; margin-left: .2em; border-radius: .7em; background: #fff; color: #12355b; font-weight: 600; text-align: center; }
        nav .count.changed { outline: 2px solid #ffdd00; }
        @media (prefers-reduced-motion: no-preference) {
          nav .count.changed { animation: count-changed 1.2s ease-out 2; }
          @keyframes count-changed { 50% { background: #ffdd00; } }
        }
        main { padding: 1rem 1.2rem; max-width: 80rem; }
        main:focus { outline: none; }
        h1 { font-size: 1.4rem; }
        /* Focus is always visible: a yellow ring inside a dark one shows on light and dark backgrounds alike. */
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, [tabindex]:focus-visible {
          outline: 3px solid #ffdd00; outline-offset: 0; box-shadow: 0 0 0 6px #0b0c0c;
        }
        main:focus-visible { outline: none; box-shadow: none; }
        .row:focus { outline: 3px solid #ffdd00; box-shadow: 0 0 0 6px #0b0c0c; }
        .skip { position: absolute; left: .5rem; top: -3rem; background: #fff; color: #0b0c0c; padding: .5rem 1rem; z-index: 10; }
        .skip:focus { top: .5rem; }
        .visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
        .live { margin-bottom: .6rem; }
        .flash { padding: .6rem 1rem; border-radius: .3rem; margin-bottom: 1rem; background: #e3f2e5; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
        .flash[data-ok="false"] { background: #fbe4e4; }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
        .card, .row { background: #fff; border: 1px solid #d8dde3; border-radius: .4rem; padding: .8rem 1rem; margin-bottom: .8rem; }
        .row-head { display: flex; gap: .6rem; align-items: center; }
        .row-head input { width: 1.2rem; height: 1.2rem; }
        .bulk fieldset { border: 0; padding: 0; margin: 0; display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
        .bulk legend { font-weight: 600; padding: 0; }
        .bulk p { margin: 0; }
        .meta { color: #4a4a4a; font-size: .9rem; }
        .preview { white-space: pre-wrap; font-size: .92rem; background: #fafafa; padding: .5rem; border-radius: .3rem; max-height: 9rem; overflow: hidden; }
        .fulltext { white-space: pre-wrap; background: #fff; border: 1px solid #d8dde3; padding: 1rem; }
        .findings { white-space: pre-wrap; overflow-wrap: anywhere; }
        .report table { margin: .5rem 0 1rem; } .report td, .report th { padding: .2rem .5rem; text-align: left; border-bottom: 1px solid #e3e7eb; }
        button, select, input { font: inherit; }
        .suggest { border: 1px solid #2f6fb3; background: #eaf2fb; border-radius: .3rem; padding: .2rem .6rem; cursor: pointer; color: #1b1b1b; }
        .suggest kbd { font-size: .8rem; color: #3d3d3d; }
        .search { display: flex; gap: .8rem; flex-wrap: wrap; align-items: end; }
        .search label { display: flex; flex-direction: column; font-size: .9rem; }
        table { border-collapse: collapse; background: #fff; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; }
        tbody th { font-weight: normal; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dt { color: #4a4a4a; }
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
        // Whether the person has started something on this page (it is then never reloaded under them).
        let touched = false;
        for (const what of ["keydown", "pointerdown", "change"]) document.addEventListener(what, () => { touched = true; }, { capture: true });
        window.addEventListener("DOMContentLoaded", () => {
          const first = document.querySelector('[data-testid="triage-list"] [data-testid="mail-row"]');
          const flash = document.querySelector('[data-testid="flash"]');
          if (first && !flash && (document.activeElement === document.body || !document.activeElement)) first.focus();
          watchWaiting();
        });
        // The waiting counts in the navigation, asked for every data-refresh-ms. On a triage page, more mail is announced
        // politely with a link that shows it; a page the person has not touched shows it by itself.
        function watchWaiting() {
          const counts = document.querySelectorAll("[data-waiting]");
          const every = Number(document.body.dataset.refreshMs);
          if (counts.length === 0 || !(every > 0)) return;
          const here = document.body.dataset.mailbox;
          const ask = async () => {
            try {
              const response = await fetch("/waiting", { headers: { "X-Requested-With": "fetch", "Accept": "application/json" }, cache: "no-store" });
              if (!response.ok) return;
              const waiting = await response.json();
              for (const count of counts) {
                const now = waiting[count.dataset.waiting];
                const before = Number(count.textContent);
                if (typeof now !== "number" || now === before) continue;
                count.textContent = String(now);
                count.classList.add("changed");
                if (count.dataset.waiting === here && now > before) announce(now);
              }
            } catch {
              // the worker is restarting or the network is away: ask again next time
            }
          };
          window.setInterval(ask, every);
        }
        function announce(waiting) {
          const live = document.querySelector('[data-testid="live"]');
          live.querySelector('[data-testid="live-text"]').textContent = (waiting === 1 ? live.dataset.newMailOne : live.dataset.newMail).replace("{0}", String(waiting));
          live.querySelector('[data-testid="show-new-mail"]').hidden = false;
          if (!touched && !document.querySelector('[data-testid="flash"]')) {
            window.setTimeout(() => { if (!touched) window.location.reload(); }, 2000);
          }
        }
        """;
}
