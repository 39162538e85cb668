import escapeHtml from "escape-html";

/** A string of HTML that is already safe to emit (built by {@link html} or marked with {@link trusted}). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated into {@link html}: plain values are escaped, SafeHtml is kept, arrays are joined. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  // escape-html escapes & < > " ' so values are safe in text and in quoted attributes.
  return escapeHtml(String(v));
}

/**
 * Tagged template that escapes every interpolated value by default:
 * `html\`<td>${entry.title}</td>\``. Nest templates (or arrays of them) to compose pages.
 * Attribute values must be quoted in the template.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Marks a string produced by this code (never user input) as HTML, e.g. generated CSS. */
export function trusted(s: string): SafeHtml {
  return new SafeHtml(s);
}
