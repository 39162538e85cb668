import { ConflictError, ValidationError } from "../domain/errors";
import { CSRF_FIELD } from "./csrf";
import { html, type HtmlValue, type SafeHtml } from "./html";
import type { Frame } from "./layout";

/** Messages of a rejected form by field name (`title`, `states.0.name`), and `""` for the form as a whole. */
export type FieldErrors = Readonly<Record<string, string>>;

/** Values of a form as posted (strings), so a rejected form shows what was typed. */
export type FormValues = Readonly<Record<string, string | undefined>>;

/**
 * The errors of a refused change, by field: the domain's messages start with the field they are
 * about (`key: an entry type with key x already exists`, ValidationError's `field`). A message of
 * a field the form does not show goes to the form as a whole. Other errors are rethrown.
 */
export function formErrors(err: unknown, shown: readonly string[]): FieldErrors {
  if (!(err instanceof ValidationError) && !(err instanceof ConflictError)) throw err;
  const m = /^([A-Za-z][\w.]*): ([\s\S]+)$/.exec(err.message);
  if (m && shown.includes(m[1]!)) return { [m[1]!]: m[2]! };
  return { "": err.message };
}

/** The HTTP status of a refused form: 409 for a conflict with existing data, else 400. */
export const refusedStatus = (err: unknown) => (err instanceof ConflictError ? 409 : 400);

/** The hidden CSRF field every form of the pages carries. */
export const csrfInput = (f: Frame) => html`<input type="hidden" name="${CSRF_FIELD}" value="${f.csrf}">`;

/** An error about the whole form (or a refusal), announced to screen readers. */
export const errorBox = (error: string | undefined) => (error ? html`<p class="error" role="alert">${error}</p>` : null);

const idFor = (name: string) => name.replace(/[^A-Za-z0-9-]/g, "-");

interface FieldOptions {
  readonly name: string;
  readonly label: string;
  readonly values: FormValues;
  readonly errors: FieldErrors;
  /** input type (text by default); "select" takes `options`. */
  readonly type?: "text" | "color" | "select";
  readonly options?: readonly (readonly [value: string, label: string])[];
  readonly required?: boolean;
  readonly maxlength?: number;
  readonly hint?: string;
}

/**
 * One labelled form control with its error right below it: `aria-invalid` and `aria-describedby`
 * tie the message to the control, so a screen reader reads it when the field gets focus.
 */
export function field(o: FieldOptions): SafeHtml {
  const id = idFor(o.name);
  const value = o.values[o.name] ?? "";
  const error = o.errors[o.name];
  const described = [o.hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  const aria = html`${error ? html` aria-invalid="true"` : ""}${described ? html` aria-describedby="${described}"` : ""}`;
  let control: SafeHtml;
  if (o.type === "select") {
    const options: HtmlValue = (o.options ?? []).map(
      ([v, l]) => html`<option value="${v}"${v === value ? html` selected` : ""}>${l}</option>`,
    );
    control = html`<select id="${id}" name="${o.name}"${aria}>${options}</select>`;
  } else {
    control = html`<input type="${o.type ?? "text"}" id="${id}" name="${o.name}" value="${value}"${o.required ? html` required` : ""}${
      o.maxlength ? html` maxlength="${o.maxlength}"` : ""
    }${aria}>`;
  }
  return html`<div class="field"><label for="${id}">${o.label}</label>${control}${
    o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ""
  }${error ? html`<p class="field-error" id="${id}-error">${o.label}: ${error}</p>` : ""}</div>`;
}

/** A one-button form that posts `fields` (plus the CSRF token) to `action`. */
export function postButton(
  f: Frame,
  action: string,
  label: string,
  fields: Record<string, string> = {},
  opts: { secondary?: boolean; name?: string } = {},
): SafeHtml {
  const hidden = Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  return html`<form class="inline" method="post" action="${action}">${csrfInput(f)}${hidden}<button type="submit"${
    opts.secondary ? html` class="secondary"` : ""
  }${opts.name ? html` aria-label="${opts.name}"` : ""}>${label}</button></form>`;
}
