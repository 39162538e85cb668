import type { LastRun } from "../backup";
import type { EntryType } from "../domain/entry-types";
import type { Settings } from "../domain/settings";
import { html, type HtmlValue, type SafeHtml, trusted } from "./html";

/** Colors of each theme in settings.THEMES. */
const THEME_VARS: Record<Settings["theme"], string> = {
  light: "--bg:#f6f6f4;--fg:#1d1d1f;--card:#fff;--muted:#6b6b70;--line:#dcdcd8;--accent:#2f6fdb;--accent-fg:#fff",
  dark: "--bg:#15171a;--fg:#e6e6e6;--card:#1f2226;--muted:#9aa0a6;--line:#34383d;--accent:#6ea8fe;--accent-fg:#0b1220",
  forest: "--bg:#eef3ec;--fg:#1e2b1e;--card:#fff;--muted:#5d6b5d;--line:#cfdccb;--accent:#2e7d32;--accent-fg:#fff",
  ocean: "--bg:#ecf4f9;--fg:#102a43;--card:#fff;--muted:#52667a;--line:#c9dbe8;--accent:#0277bd;--accent-fg:#fff",
  amber: "--bg:#fbf6ec;--fg:#3b2a10;--card:#fff;--muted:#7a6a50;--line:#eadcc0;--accent:#b26a00;--accent-fg:#fff",
};

const BASE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--accent)}
header,footer,header nav{padding:.7rem 1.5rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header nav{padding:0}
header{background:var(--card);border-bottom:1px solid var(--line)}
header .title{font-size:1.25rem;font-weight:650;color:var(--fg);text-decoration:none;margin-right:auto}
footer{color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);margin-top:2rem}
main{max-width:70rem;margin:1.2rem auto;padding:0 1.5rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin:0 0 1rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:.85rem}
form.inline{display:inline}
form.filters{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end}
label{display:block;font-size:.85rem;color:var(--muted);margin:.4rem 0 .15rem}
input,select,textarea{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:5px;padding:.35rem .5rem}
textarea{width:100%;min-height:6rem}
input[type=text],input[type=password]{min-width:16rem}
button,.button{font:inherit;background:var(--accent);color:var(--accent-fg);border:0;border-radius:5px;padding:.4rem .9rem;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:transparent;color:var(--accent);border:1px solid var(--accent)}
.badge{display:inline-block;border-radius:999px;padding:.05rem .6rem;font-size:.8rem;color:#fff;background:#555;white-space:nowrap}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px;top:.5rem;background:var(--card);padding:.4rem .8rem;z-index:1}.skip:focus{left:.5rem}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header .subtitle{color:var(--muted);font-size:.9rem;margin:0;flex-basis:100%;order:1}
.field{margin:0 0 .5rem}.row{display:flex;gap:1rem;flex-wrap:wrap;align-items:start;border:0;padding:0;margin:0}
fieldset{border:1px solid var(--line);border-radius:6px;margin:.6rem 0;padding:.4rem .8rem}legend{color:var(--muted);font-size:.85rem}
.hint{color:var(--muted);font-size:.85rem;margin:.15rem 0}
.field-error{color:#8a1c13;background:#fdecea;border-radius:4px;padding:.1rem .4rem;font-size:.85rem;margin:.2rem 0}
[aria-invalid=true]{border-color:#c62828}
.notice{background:#e8f5e9;color:#1b5e20;border:1px solid #a5d6a7;border-radius:6px;padding:.6rem .8rem}
td.buttons{white-space:nowrap}
input[type=color]{width:3.5rem;height:2.1rem;padding:.1rem}
.muted{color:var(--muted)}
.error{background:#fdecea;color:#8a1c13;border:1px solid #f5c2bd;border-radius:6px;padding:.6rem .8rem;margin:0 0 1rem}
.ok{color:#2e7d32}.fail{color:#c62828}
.actions{display:flex;gap:.6rem;align-items:center;margin-top:1rem}
.pager{display:flex;gap:1rem;align-items:center;margin-top:.8rem}
.desc,.note{white-space:pre-wrap;overflow-wrap:anywhere}
ul.plain{list-style:none;padding:0;margin:0}ul.plain li{padding:.35rem 0;border-bottom:1px solid var(--line)}
`;

/** What every page shows around its content. */
export interface Frame {
  readonly settings: Settings;
  readonly nonce: string;
  readonly isAdmin: boolean;
  readonly csrf: string;
  readonly version: string;
  readonly types: readonly EntryType[];
  /** Last backup attempt; shown to admins only. */
  readonly lastBackup: LastRun | null;
}

/** WCAG 2 relative luminance of a #rrggbb color (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** Black or white, whichever reads better on `hex` (the larger WCAG contrast ratio). */
export function textOn(hex: string): "#000" | "#fff" {
  const l = luminance(hex);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000" : "#fff";
}

/** CSS classes `st-<id>` for every state's color (colors are validated as #rrggbb by the schema), with readable text. */
function stateCss(types: readonly EntryType[]): string {
  const hex = /^#[0-9a-fA-F]{6}$/;
  return types
    .flatMap((t) => t.states)
    .filter((s) => hex.test(s.color))
    .map((s) => `.st-${s.id}{background:${s.color};color:${textOn(s.color)}}`)
    .join("");
}

/** "2026-11-27 21:30 UTC" from an ISO timestamp. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function footer(f: Frame): SafeHtml {
  let backup: HtmlValue = null;
  if (f.isAdmin) {
    const b = f.lastBackup;
    backup = b
      ? html`<span data-testid="last-backup">Last backup: ${when(b.at)} ·
          ${b.ok ? html`<span class="ok">ok</span>` : html`<span class="fail">failed</span>${b.error ? html` (${b.error})` : ""}`}
          <span class="muted">(${b.reason})</span></span>`
      : html`<span data-testid="last-backup">Last backup: none yet</span>`;
  }
  return html`<footer><span data-testid="version">Version ${f.version}</span>${backup}</footer>`;
}

/** A whole page: head with the theme, header with title and navigation, content, footer. */
export function page(f: Frame, title: string, content: HtmlValue): SafeHtml {
  const { settings: s } = f;
  const nav = f.isAdmin
    ? html`<a href="/entries/new">New ${s.labels.entry.toLowerCase()}</a><a href="/types">Types</a><a href="/settings">Settings</a>
        <form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value="${f.csrf}"><button class="secondary" type="submit">Log out</button></form>`
    : html`<a href="/login">Log in</a>`;
  const css = `:root{${THEME_VARS[s.theme]}}${BASE_CSS}${stateCss(f.types)}`;
  return html`<!doctype html>
<html lang="en" data-theme="${s.theme}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${s.title}</title>
<style nonce="${f.nonce}">${trusted(css)}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><a class="title" href="/">${s.title}</a>${s.subtitle ? html`<p class="subtitle" data-testid="subtitle">${s.subtitle}</p>` : ""}<nav aria-label="Main"><a href="/">${s.labels.entries}</a>${nav}</nav></header>
<main id="main" tabindex="-1">${content}</main>
${footer(f)}
</body>
</html>`;
}
