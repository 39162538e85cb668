import type { Attachment } from "../domain/attachments";
import type { Entry, Page } from "../domain/entries";
import type { EntryType } from "../domain/entry-types";
import type { Note } from "../domain/notes";
import type { Relationship } from "../domain/relationships";
import { type LinkChoice, linkSearchForm } from "./admin-views";
import { csrfInput, errorBox, postButton } from "./forms";
import { type Frame, page, when } from "./layout";
import { html, type HtmlValue, type SafeHtml } from "./html";

/** Filters of the list page, as shown in its form and links. */
export interface ListFilters {
  readonly q?: string | undefined;
  readonly type?: number | undefined;
  readonly state?: number | undefined;
  readonly archived: "true" | "false" | "all";
  readonly page: number;
}

/** Entries per list page. */
export const PAGE_SIZE = 20;

const badge = (e: Entry) => html`<span class="badge st-${e.stateId}">${e.stateName}</span>`;

function listUrl(filters: ListFilters, pageNo: number): string {
  const p = new URLSearchParams();
  if (filters.q) p.set("q", filters.q);
  if (filters.type !== undefined) p.set("type", String(filters.type));
  if (filters.state !== undefined) p.set("state", String(filters.state));
  if (filters.archived !== "false") p.set("archived", filters.archived);
  if (pageNo > 1) p.set("page", String(pageNo));
  const s = p.toString();
  return s ? `/?${s}` : "/";
}

function option(value: string | number, label: string, selected: boolean): SafeHtml {
  return html`<option value="${value}"${selected ? html` selected` : ""}>${label}</option>`;
}

function stateOptions(types: readonly EntryType[], selected: number | undefined): HtmlValue {
  return types.map((t) => html`<optgroup label="${t.plural}">${t.states.map((s) => option(s.id, s.name, s.id === selected))}</optgroup>`);
}

/** "1,234", or "10,000+" when the count stopped at the cap (see Page in src/domain/entries.ts). */
export function countText(result: Pick<Page<Entry>, "total" | "totalCapped">): string {
  return `${result.total.toLocaleString("en-US")}${result.totalCapped ? "+" : ""}`;
}

/** The list page: search, filters, a table of one page of entries, paging. */
export function listPage(f: Frame, filters: ListFilters, result: Page<Entry>, error?: string): SafeHtml {
  const { labels } = f.settings;
  const first = result.total === 0 ? 0 : (filters.page - 1) * PAGE_SIZE + 1;
  const last = Math.min(result.total, filters.page * PAGE_SIZE);
  const rows = result.items.map(
    (e) => html`<tr>
      <td><a href="/entries/${e.id}">${e.title}</a>${e.archived ? html` <span class="muted">(archived)</span>` : ""}</td>
      <td>${e.typeSingular}</td><td>${badge(e)}</td><td>${when(e.createdAt)}</td><td>${e.plannedEnd ?? ""}</td></tr>`,
  );
  const content = html`
<h1>${labels.entries}</h1>
${errorBox(error)}
<form class="filters card" method="get" action="/" role="search">
  <div><label for="q">Search</label><input type="search" id="q" name="q" value="${filters.q ?? ""}" placeholder="title, description, ${labels.notes.toLowerCase()}"></div>
  <div><label for="type">Type</label><select id="type" name="type"><option value="">All</option>${f.types.map((t) => option(t.id, t.plural, t.id === filters.type))}</select></div>
  <div><label for="state">State</label><select id="state" name="state"><option value="">All</option>${stateOptions(f.types, filters.state)}</select></div>
  <div><label for="archived">Archived</label><select id="archived" name="archived">
    ${option("false", "Active", filters.archived === "false")}${option("true", "Archived", filters.archived === "true")}${option("all", "All", filters.archived === "all")}
  </select></div>
  <div><button type="submit">Search</button></div>
</form>
<div class="card">
${
  result.items.length === 0
    ? html`<p class="muted">No ${labels.entries.toLowerCase()} found.</p>`
    : html`<table><thead><tr><th>Title</th><th>Type</th><th>State</th><th>Created</th><th>Planned end</th></tr></thead><tbody>${rows}</tbody></table>`
}
<div class="pager"><span data-testid="count">${first}–${last} of ${countText(result)}</span>
${filters.page > 1 ? html`<a href="${listUrl(filters, filters.page - 1)}" rel="prev">Previous</a>` : ""}
${last < result.total || result.totalCapped ? html`<a href="${listUrl(filters, filters.page + 1)}" rel="next">Next</a>` : ""}
</div></div>`;
  return page(f, labels.entries, content);
}

/** Values of the entry form (strings as posted, so a rejected form shows what was typed). */
export interface EntryFormValues {
  readonly typeId?: string | undefined;
  readonly stateId?: string | undefined;
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly plannedEnd?: string | undefined;
  readonly actualEnd?: string | undefined;
}

/** The new-entry form (`entry` undefined) or the edit form. */
export function entryFormPage(f: Frame, v: EntryFormValues, entry?: Entry, error?: string): SafeHtml {
  const { labels } = f.settings;
  const heading = entry ? `Edit ${labels.entry.toLowerCase()}` : `New ${labels.entry.toLowerCase()}`;
  const stateId = v.stateId ? Number(v.stateId) : undefined;
  const typeSelect = entry
    ? html`<p class="muted">Type: ${entry.typeSingular}</p>`
    : html`<label for="typeId">Type</label><select id="typeId" name="typeId">${f.types.map((t) => option(t.id, t.singular, String(t.id) === v.typeId))}</select>`;
  const states = entry ? f.types.filter((t) => t.id === entry.typeId) : f.types;
  const content = html`
<h1>${heading}</h1>
${errorBox(error)}
<form class="card" method="post" action="${entry ? `/entries/${entry.id}` : "/entries"}">
  ${csrfInput(f)}
  ${typeSelect}
  <label for="title">Title</label><input type="text" id="title" name="title" value="${v.title ?? ""}" required maxlength="200">
  <label for="description">Description</label><textarea id="description" name="description">${v.description ?? ""}</textarea>
  <label for="stateId">State</label><select id="stateId" name="stateId">${entry ? "" : html`<option value="">Default</option>`}${stateOptions(states, stateId)}</select>
  <label for="plannedEnd">Planned end</label><input type="date" id="plannedEnd" name="plannedEnd" value="${v.plannedEnd ?? ""}">
  ${entry ? html`<label for="actualEnd">Actual end</label><input type="date" id="actualEnd" name="actualEnd" value="${v.actualEnd ?? ""}">` : ""}
  <p><button type="submit">${entry ? "Save" : "Create"}</button> <a href="${entry ? `/entries/${entry.id}` : "/"}">Cancel</a></p>
</form>`;
  return page(f, heading, content);
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** An entry's relationships on both sides, and the ways it can be linked. */
export interface EntryLinks {
  readonly outgoing: readonly Relationship[];
  readonly incoming: readonly Relationship[];
  readonly choices: readonly LinkChoice[];
}

function linksCard(f: Frame, e: Entry, links: EntryLinks, error: string | undefined): SafeHtml {
  const item = (r: Relationship, label: string, otherId: number, otherTitle: string) =>
    html`<li><span class="muted">${label}</span> <a href="/entries/${otherId}">${otherTitle}</a>${
      f.isAdmin
        ? html` ${postButton(f, `/entries/${e.id}/relationships/${r.id}/delete`, "Remove", {}, { secondary: true, name: `Remove link: ${label} ${otherTitle}` })}`
        : ""
    }</li>`;
  const all = [
    ...links.outgoing.map((r) => item(r, r.kind, r.toEntryId, r.toTitle)),
    ...links.incoming.map((r) => item(r, r.reverseLabel, r.fromEntryId, r.fromTitle)),
  ];
  return html`<div class="card" id="links"><h2>Relationships</h2>${errorBox(error)}
  ${all.length ? html`<ul class="plain" data-testid="links">${all}</ul>` : html`<p class="muted">No relationships yet.</p>`}
  ${f.isAdmin ? linkSearchForm(e, links.choices) : ""}</div>`;
}

/** One entry with its notes, attachments and relationships, and (for admins) the forms to change them. */
export function entryPage(
  f: Frame,
  e: Entry,
  notes: readonly Note[],
  attachments: readonly Attachment[],
  links: EntryLinks,
  errors: { note?: string; attachment?: string; noteBody?: string; link?: string } = {},
): SafeHtml {
  const { labels } = f.settings;
  const admin = f.isAdmin;
  const actions = admin
    ? html`<div class="actions"><a class="button" href="/entries/${e.id}/edit">Edit</a>
        <form class="inline" method="post" action="/entries/${e.id}/archive">${csrfInput(f)}
          <input type="hidden" name="archived" value="${e.archived ? "false" : "true"}">
          <button class="secondary" type="submit">${e.archived ? "Unarchive" : "Archive"}</button></form></div>`
    : null;
  const content = html`
<p><a href="/">← ${labels.entries}</a></p>
<div class="card">
  <h1>${e.title} ${badge(e)}</h1>
  ${e.archived ? html`<p class="muted" data-testid="archived">Archived</p>` : ""}
  <p class="muted">${e.typeSingular} · created ${when(e.createdAt)} · updated ${when(e.updatedAt)}
    ${e.plannedEnd ? html` · planned end ${e.plannedEnd}` : ""}${e.actualEnd ? html` · ended ${e.actualEnd}` : ""}</p>
  <div class="desc">${e.description}</div>
  ${actions}
</div>
<div class="card" id="notes">
  <h2>${labels.notes}</h2>
  ${notes.length ? html`<ul class="plain">${notes.map((n) => html`<li><div class="note">${n.body}</div><span class="muted">${when(n.createdAt)}</span></li>`)}</ul>` : html`<p class="muted">No ${labels.notes.toLowerCase()} yet.</p>`}
  ${
    admin
      ? html`<form method="post" action="/entries/${e.id}/notes">${csrfInput(f)}${errorBox(errors.note)}
      <label for="body">Add a ${labels.note.toLowerCase()}</label><textarea id="body" name="body" required>${errors.noteBody ?? ""}</textarea>
      <p><button type="submit">Add ${labels.note.toLowerCase()}</button></p></form>`
      : ""
  }
</div>
${linksCard(f, e, links, errors.link)}
<div class="card" id="attachments">
  <h2>${labels.attachments}</h2>
  ${
    attachments.length
      ? html`<table><thead><tr><th>File</th><th>Type</th><th>Size</th><th>Added</th></tr></thead><tbody>${attachments.map(
          (a) =>
            html`<tr><td><a href="/api/attachments/${a.id}/download">${a.filename}</a></td><td>${a.mime}</td><td>${size(a.size)}</td><td>${when(a.createdAt)}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="muted">No ${labels.attachments.toLowerCase()} yet.</p>`
  }
  ${
    admin
      ? html`<form method="post" action="/entries/${e.id}/attachments" enctype="multipart/form-data">${csrfInput(f)}${errorBox(errors.attachment)}
      <label for="file">Upload a file</label><input type="file" id="file" name="file" required>
      <button type="submit">Upload</button></form>`
      : ""
  }
</div>`;
  return page(f, e.title, content);
}

/** The login form. It posts the token to POST /api/login (which sets the session cookie), then goes to `next`. */
export function loginPage(f: Frame, next: string, message?: string): SafeHtml {
  const script = html`<script nonce="${f.nonce}">
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const box = document.getElementById("login-error");
  const res = await fetch("/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: form.token.value }) });
  if (res.status === 204) { location.assign(form.dataset.next); return; }
  let text = "Login failed (HTTP " + res.status + ")";
  try { text = (await res.json()).message || text; } catch {}
  box.textContent = text;
  box.hidden = false;
});
</script>`;
  const content = html`
<h1>Log in</h1>
${message ? html`<p class="muted">${message}</p>` : ""}
<form class="card" id="login" method="post" action="/api/login" data-next="${next}">
  <p class="error" id="login-error" role="alert" hidden></p>
  <label for="token">Admin token</label><input type="password" id="token" name="token" autocomplete="current-password" required>
  <p><button type="submit">Log in</button></p>
</form>
${script}`;
  return page(f, "Log in", content);
}

/** An error page with a message and a way back. */
export function errorPage(f: Frame, status: number, message: string): SafeHtml {
  return page(
    f,
    `Error ${status}`,
    html`<h1>Error ${status}</h1><p class="error" role="alert">${message}</p><p><a href="/">Back to the list</a></p>`,
  );
}
