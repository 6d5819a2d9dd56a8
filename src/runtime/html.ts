// Safe HTML: the `html` tagged template escapes every interpolated value unless it is html-made.

// Symbol.for, not a class check: markup made by a copy of this module from before a hot reload
// (a _lib/ layout, say) must still pass through unescaped.
const MARKUP = Symbol.for("tscgi.html");

/** Markup that is safe to send as-is: made by `html`, or vouched for by `unsafeHtml`. */
export class Html {
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  get [MARKUP](): string {
    return this.#text;
  }

  toString(): string {
    return this.#text;
  }
}

/** True for markup made by `html` or `unsafeHtml` (whichever copy of this module made it). */
export function isHtml(value: unknown): value is Html {
  return typeof value === "object" && value !== null && typeof (value as Record<symbol, unknown>)[MARKUP] === "string";
}

const SPECIAL = /[&<>"']/;
const SPECIAL_ALL = /[&<>"']/g;
const ENTITY: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Text as HTML: & < > " ' become entities, PHP's htmlspecialchars(ENT_QUOTES). Safe in element
 * content and in quoted attribute values; not in unquoted attributes, scripts, styles or URLs.
 */
export function escapeHtml(text: string): string {
  // Most text has nothing to escape: skip the replace (and its new string) then.
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, (c) => ENTITY[c]) : text;
}

/** What `html` accepts in `${...}`: text, numbers, markup, nothing, or lists of these. */
export type HtmlValue = Html | string | number | bigint | boolean | null | undefined | Iterable<HtmlValue>;

/** One interpolated value as markup. */
function render(value: unknown): string {
  if (typeof value === "string") return escapeHtml(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  // Like JSX: `${loggedIn && html`...`}` renders nothing when false, and so does a missing value.
  if (value === null || value === undefined || typeof value === "boolean") return "";
  if (isHtml(value)) return (value as unknown as Record<symbol, string>)[MARKUP];
  if (typeof value === "object" && Symbol.iterator in value) {
    let out = "";
    for (const item of value as Iterable<unknown>) out += render(item);
    return out;
  }
  // Outside HtmlValue (a Date, an object with its own toString): shown as JavaScript prints it.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return escapeHtml(String(value));
}

/**
 * html`<p>Hello, ${name}</p>`: every value is escaped, except markup from another html`` (so
 * templates nest) and lists of such values (so `items.map((i) => html`<li>${i}</li>`)` works).
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  // A cooked string is undefined after an invalid escape such as \u in the template; keep it raw.
  let out = strings[0] ?? strings.raw[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? strings.raw[i + 1]);
  return new Html(out);
}

/**
 * Markup sent exactly as given, never escaped: only for HTML the script itself trusts (a
 * sanitised rich-text field, an SVG file it ships). Never for anything from the request.
 */
export function unsafeHtml(markup: string): Html {
  return new Html(String(markup));
}
