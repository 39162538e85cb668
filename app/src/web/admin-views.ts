import type { Entry } from "../domain/entries";
import type { EntryType, State } from "../domain/entry-types";
import type { RelationshipType } from "../domain/relationship-types";
import { CARDINALITIES } from "../domain/schemas";
import { THEMES } from "../domain/settings";
import { csrfInput, errorBox, field, type FieldErrors, type FormValues, postButton } from "./forms";
import { html, type SafeHtml } from "./html";
import { type Frame, page } from "./layout";

/** Rows of state fields on the new-type form (blank rows are ignored). */
export const NEW_TYPE_STATE_ROWS = 3;

const OPEN_OPTIONS = [
  ["true", "Open"],
  ["false", "Closed"],
] as const;

const swatch = (s: State) => html`<span class="badge st-${s.id}">${s.name}</span>`;

/** The list of entry types with their states. */
export function typesPage(f: Frame, counts: ReadonlyMap<number, number>): SafeHtml {
  const rows = f.types.map(
    (t) => html`<tr><td><a href="/types/${t.id}">${t.singular}</a></td><td>${t.plural}</td><td><code>${t.key}</code></td>
      <td>${t.states.map((s) => html`${swatch(s)} `)}</td><td>${counts.get(t.id) ?? 0}</td></tr>`,
  );
  const content = html`<h1>Types</h1>
<p class="actions"><a class="button" href="/types/new">New type</a> <a href="/relationship-types">Relationship definitions</a></p>
<div class="card"><table><caption class="sr-only">Entry types</caption>
<thead><tr><th scope="col">Singular</th><th scope="col">Plural</th><th scope="col">Key</th><th scope="col">States</th><th scope="col">Entries</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
  return page(f, "Types", content);
}

/** The new-type form: key, labels, and the first states. */
export function newTypePage(f: Frame, v: FormValues, errors: FieldErrors = {}): SafeHtml {
  const rows = Array.from({ length: NEW_TYPE_STATE_ROWS }, (_, i) => {
    const n = i + 1;
    return html`<fieldset class="row"><legend>State ${n}</legend>
      ${field({ name: `states.${i}.name`, label: `State ${n} name`, values: v, errors, maxlength: 60 })}
      ${field({ name: `states.${i}.color`, label: `State ${n} color`, values: { [`states.${i}.color`]: v[`states.${i}.color`] ?? "#2f6fdb" }, errors, type: "color" })}
      ${field({ name: `states.${i}.open`, label: `State ${n} is`, values: v, errors, type: "select", options: OPEN_OPTIONS })}
    </fieldset>`;
  });
  const content = html`<p><a href="/types">← Types</a></p><h1>New type</h1>
${errorBox(errors[""])}
<form class="card" method="post" action="/types" novalidate>${csrfInput(f)}
  ${field({ name: "key", label: "Key", values: v, errors, required: true, maxlength: 40, hint: "Lowercase letters, digits and dashes, e.g. recipe. It cannot change later." })}
  ${field({ name: "singular", label: "Singular label", values: v, errors, required: true, maxlength: 60 })}
  ${field({ name: "plural", label: "Plural label", values: v, errors, required: true, maxlength: 60 })}
  <p class="hint" id="states-hint">Fill in at least one state; empty rows are left out. More states can be added later.</p>
  ${errors.states ? html`<p class="field-error" id="states-error" role="alert">States: ${errors.states}</p>` : ""}
  ${rows}
  <p><button type="submit">Create type</button> <a href="/types">Cancel</a></p>
</form>`;
  return page(f, "New type", content);
}

/** Errors of the type page's forms: the labels form, the add-state form, and the page as a whole. */
export interface TypePageErrors {
  readonly labels?: FieldErrors;
  readonly state?: FieldErrors;
  readonly page?: string;
}

/** One type: its labels, its states (reorder, default, edit, delete), a new state, and delete. */
export function typePage(
  f: Frame,
  t: EntryType,
  entries: number,
  values: { labels?: FormValues; state?: FormValues } = {},
  errors: TypePageErrors = {},
): SafeHtml {
  const labels = values.labels ?? { singular: t.singular, plural: t.plural };
  const state = values.state ?? { color: "#6b6b70", open: "true" };
  const last = t.states.length - 1;
  const stateRows = t.states.map((s, i) => {
    const isDefault = s.id === t.defaultStateId;
    return html`<tr><td>${swatch(s)}</td><td>${s.open ? "Open" : "Closed"}</td><td>${isDefault ? html`<strong>Default</strong>` : postButton(f, `/states/${s.id}/default`, "Make default", {}, { secondary: true, name: `Make default: ${s.name}` })}</td>
      <td class="buttons">${i > 0 ? postButton(f, `/states/${s.id}/move`, "Up", { direction: "up" }, { secondary: true, name: `Move ${s.name} up` }) : ""}
        ${i < last ? postButton(f, `/states/${s.id}/move`, "Down", { direction: "down" }, { secondary: true, name: `Move ${s.name} down` }) : ""}
        <a href="/states/${s.id}/edit" aria-label="Edit ${s.name}">Edit</a>
        ${postButton(f, `/states/${s.id}/delete`, "Delete", {}, { secondary: true, name: `Delete ${s.name}` })}</td></tr>`;
  });
  const content = html`<p><a href="/types">← Types</a></p>
<h1>${t.singular} <span class="muted">(${t.plural})</span></h1>
${errorBox(errors.page)}
<p class="muted">Key <code>${t.key}</code> · ${entries} ${entries === 1 ? "entry" : "entries"}</p>
<form class="card" method="post" action="/types/${t.id}" novalidate>${csrfInput(f)}
  <h2>Labels</h2>${errorBox(errors.labels?.[""])}
  ${field({ name: "singular", label: "Singular label", values: labels, errors: errors.labels ?? {}, required: true, maxlength: 60 })}
  ${field({ name: "plural", label: "Plural label", values: labels, errors: errors.labels ?? {}, required: true, maxlength: 60 })}
  <p><button type="submit">Save labels</button></p>
</form>
<div class="card" id="states"><h2>States</h2>
<p class="hint">New ${t.plural.toLowerCase()} start in the default state. The order is the order of the state menus.</p>
<table><caption class="sr-only">States of ${t.singular}</caption>
<thead><tr><th scope="col">State</th><th scope="col">Open or closed</th><th scope="col">Default</th><th scope="col">Order and changes</th></tr></thead>
<tbody>${stateRows}</tbody></table>
<form method="post" action="/types/${t.id}/states" novalidate>${csrfInput(f)}
  <h3>Add a state</h3>${errorBox(errors.state?.[""])}
  <div class="row">
  ${field({ name: "name", label: "Name", values: state, errors: errors.state ?? {}, required: true, maxlength: 60 })}
  ${field({ name: "color", label: "Color", values: state, errors: errors.state ?? {}, type: "color" })}
  ${field({ name: "open", label: "Open or closed", values: state, errors: errors.state ?? {}, type: "select", options: OPEN_OPTIONS })}
  </div>
  <p><button type="submit">Add state</button></p>
</form></div>
<div class="card"><h2>Delete this type</h2>
<p class="hint">Only a type without entries and without relationship definitions can be deleted.</p>
${postButton(f, `/types/${t.id}/delete`, `Delete type ${t.singular}`, {}, { secondary: true })}</div>`;
  return page(f, t.singular, content);
}

/** The edit form of one state. */
export function statePage(f: Frame, t: EntryType, s: State, v: FormValues, errors: FieldErrors = {}): SafeHtml {
  const content = html`<p><a href="/types/${t.id}">← ${t.singular}</a></p><h1>Edit state ${s.name}</h1>
${errorBox(errors[""])}
<form class="card" method="post" action="/states/${s.id}" novalidate>${csrfInput(f)}
  ${field({ name: "name", label: "Name", values: v, errors, required: true, maxlength: 60 })}
  ${field({ name: "color", label: "Color", values: v, errors, type: "color" })}
  ${field({ name: "open", label: "Open or closed", values: v, errors, type: "select", options: OPEN_OPTIONS })}
  <p><button type="submit">Save state</button> <a href="/types/${t.id}">Cancel</a></p>
</form>`;
  return page(f, `Edit state ${s.name}`, content);
}

const CARDINALITY_OPTIONS = CARDINALITIES.map((c) => [c, c.replaceAll("-", " ")] as const);

function definitionFields(f: Frame, v: FormValues, errors: FieldErrors, withTypes: boolean): SafeHtml {
  const typeOptions = f.types.map((t) => [String(t.id), t.singular] as const);
  return html`${
    withTypes
      ? html`<div class="row">${field({ name: "fromTypeId", label: "From type", values: v, errors, type: "select", options: typeOptions })}
        ${field({ name: "toTypeId", label: "To type", values: v, errors, type: "select", options: typeOptions })}</div>`
      : ""
  }<div class="row">
  ${field({ name: "label", label: "Label from the from-side", values: v, errors, required: true, maxlength: 40, hint: "e.g. uses" })}
  ${field({ name: "reverseLabel", label: "Label from the to-side", values: v, errors, required: true, maxlength: 40, hint: "e.g. used by" })}
  ${field({ name: "cardinality", label: "Cardinality", values: v, errors, type: "select", options: CARDINALITY_OPTIONS, hint: "many to one: each from-entry links to at most one to-entry" })}
  </div>`;
}

/** The relationship definitions and the form for a new one. */
export function definitionsPage(f: Frame, defs: readonly RelationshipType[], v: FormValues, errors: FieldErrors = {}): SafeHtml {
  const rows = defs.map(
    (d) =>
      html`<tr><td>${d.fromTypeSingular}</td><td><a href="/relationship-types/${d.id}">${d.label}</a> / ${d.reverseLabel}</td><td>${d.toTypeSingular}</td><td>${d.cardinality.replaceAll("-", " ")}</td></tr>`,
  );
  const content = html`<p><a href="/types">← Types</a></p><h1>Relationship definitions</h1>
<div class="card">${
    defs.length
      ? html`<table><caption class="sr-only">Relationship definitions</caption><thead><tr><th scope="col">From type</th><th scope="col">Labels</th><th scope="col">To type</th><th scope="col">Cardinality</th></tr></thead><tbody>${rows}</tbody></table>`
      : html`<p class="muted">No relationship definitions yet.</p>`
  }</div>
<form class="card" method="post" action="/relationship-types" novalidate>${csrfInput(f)}
  <h2>New relationship definition</h2>${errorBox(errors[""])}
  ${definitionFields(f, v, errors, true)}
  <p><button type="submit">Create relationship definition</button></p>
</form>`;
  return page(f, "Relationship definitions", content);
}

/** The edit form of one relationship definition, with delete. */
export function definitionPage(f: Frame, d: RelationshipType, v: FormValues, errors: FieldErrors = {}): SafeHtml {
  const content = html`<p><a href="/relationship-types">← Relationship definitions</a></p>
<h1>${d.fromTypeSingular} ${d.label} ${d.toTypeSingular}</h1>
${errorBox(errors[""])}
<form class="card" method="post" action="/relationship-types/${d.id}" novalidate>${csrfInput(f)}
  ${definitionFields(f, v, errors, false)}
  <p><button type="submit">Save relationship definition</button></p>
</form>
<div class="card"><h2>Delete this definition</h2><p class="hint">Only a definition that no relationship uses can be deleted.</p>
${postButton(f, `/relationship-types/${d.id}/delete`, "Delete relationship definition", {}, { secondary: true })}</div>`;
  return page(f, `${d.label} / ${d.reverseLabel}`, content);
}

/** Label fields of the settings form, in order. */
export const LABEL_FIELDS = [
  ["labels.entry", "Label for one entry"],
  ["labels.entries", "Label for entries"],
  ["labels.note", "Label for one note"],
  ["labels.notes", "Label for notes"],
  ["labels.attachments", "Label for attachments"],
] as const;

/** The instance settings: title, subtitle, theme, labels. */
export function settingsPage(f: Frame, v: FormValues, errors: FieldErrors = {}, saved = false): SafeHtml {
  const content = html`<h1>Settings</h1>
${saved ? html`<p class="notice" role="status">Settings saved.</p>` : ""}${errorBox(errors[""])}
<form class="card" method="post" action="/settings" novalidate>${csrfInput(f)}
  ${field({ name: "title", label: "Title", values: v, errors, required: true, maxlength: 100 })}
  ${field({ name: "subtitle", label: "Subtitle", values: v, errors, maxlength: 200, hint: "Shown under the title; leave empty for none." })}
  ${field({ name: "theme", label: "Theme", values: v, errors, type: "select", options: THEMES.map((t) => [t, t[0]!.toUpperCase() + t.slice(1)] as const) })}
  <fieldset><legend>Labels</legend>
  ${LABEL_FIELDS.map(([name, label]) => field({ name, label, values: v, errors, required: true, maxlength: 40 }))}
  </fieldset>
  <p><button type="submit">Save settings</button></p>
</form>`;
  return page(f, "Settings", content);
}

/** One way to link an entry: a definition, read from this entry's side. */
export interface LinkChoice {
  /** `<definition id>:out` (this entry is the from-side) or `<definition id>:in`. */
  readonly value: string;
  readonly label: string;
  readonly otherTypeId: number;
}

/** The ways an entry of `typeId` can be linked, in both directions. */
export function linkChoices(defs: readonly RelationshipType[], typeId: number): LinkChoice[] {
  const out: LinkChoice[] = [];
  for (const d of defs) {
    if (d.fromTypeId === typeId) out.push({ value: `${d.id}:out`, label: `${d.label} (${d.toTypeSingular})`, otherTypeId: d.toTypeId });
    if (d.toTypeId === typeId)
      out.push({ value: `${d.id}:in`, label: `${d.reverseLabel} (${d.fromTypeSingular})`, otherTypeId: d.fromTypeId });
  }
  return out;
}

/** The form on the entry page that starts a link: a definition and words to find the other entry. */
export function linkSearchForm(e: Entry, choices: readonly LinkChoice[], v: FormValues = {}, errors: FieldErrors = {}): SafeHtml {
  if (choices.length === 0) {
    return html`<p class="hint">No relationship definitions involve ${e.typeSingular.toLowerCase()}s yet; add one under <a href="/relationship-types">Relationship definitions</a>.</p>`;
  }
  return html`<form method="get" action="/entries/${e.id}/link"><h3>Link to another entry</h3><div class="row">
  ${field({ name: "rel", label: "Relationship", values: v, errors, type: "select", options: choices.map((c) => [c.value, c.label] as const) })}
  ${field({ name: "q", label: "Find the entry", values: v, errors, maxlength: 200, hint: "Words of its title or description; empty lists the newest." })}
  </div><p><button type="submit">Find entries</button></p></form>`;
}

/** Candidates for a link, each with its Link button. */
export function linkPage(
  f: Frame,
  e: Entry,
  choices: readonly LinkChoice[],
  v: FormValues,
  candidates: readonly Entry[],
  error?: string,
): SafeHtml {
  const choice = choices.find((c) => c.value === v.rel);
  const rows = candidates.map(
    (c) => html`<li><a href="/entries/${c.id}">${c.title}</a> <span class="muted">#${c.id} · ${c.typeSingular}</span>
      ${postButton(f, `/entries/${e.id}/relationships`, "Link", { rel: v.rel ?? "", otherId: String(c.id) }, { name: `Link ${c.title}` })}</li>`,
  );
  const content = html`<p><a href="/entries/${e.id}#links">← ${e.title}</a></p>
<h1>Link ${e.title}</h1>
${errorBox(error)}
<div class="card">${linkSearchForm(e, choices, v)}</div>
${
  choice
    ? html`<div class="card"><h2>${e.title} ${choice.label}…</h2>${
        candidates.length ? html`<ul class="plain">${rows}</ul>` : html`<p class="muted">No matching entries.</p>`
      }</div>`
    : ""
}`;
  return page(f, `Link ${e.title}`, content);
}
