// JSX to an HTML string, no React: the automatic runtime (`jsx`, `jsxs`, `Fragment`) behind `tscgi/jsx-runtime`.

import { Html, escapeHtml, isHtml } from "./html.ts";

/** A component: props in, markup (or anything a child may be) out. */
export type Component<P = Record<string, unknown>> = (props: P) => JsxChild;
/** What may stand between tags: text is escaped, markup from html`` or JSX is kept, lists are flattened. */
export type JsxChild = Html | string | number | bigint | boolean | null | undefined | Iterable<JsxChild>;

/** `<>...</>`: its children, with no element around them. */
export const Fragment = Symbol.for("tscgi.jsx.fragment");

// HTML 5 void elements: never a closing tag, never children.
const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]);
// Element and attribute names a spread of request data could abuse to break out of a tag.
const TAG_NAME = /^[A-Za-z][A-Za-z0-9-]*$/;
// HTML: "characters other than controls, U+0020 SPACE, U+0022 ("), U+0027 ('), U+003E (>), U+002F (/), U+003D (=)".
const ATTRIBUTE_NAME = /^[^\s"'<>/=\p{Cc}]+$/u;
// React's names for two attributes whose HTML names are JavaScript keywords.
const RENAMED: Record<string, string> = { className: "class", htmlFor: "for" };

/**
 * One element, as the compiler calls it for `<tag {...props}>children</tag>`. Text and attribute
 * values are escaped; `class`/`className`, `for`/`htmlFor`; `true` writes a bare attribute,
 * `false`, null and undefined none; a `style` object becomes `prop: value` pairs; functions
 * (event handlers) are left out, since no script runs here.
 */
export function jsx(type: string | Component<never> | typeof Fragment, props: Record<string, unknown>, _key?: unknown): Html {
  if (typeof type === "function") return toHtml((type as Component)(props));
  if (type === Fragment) return new Html(renderChild(props.children));
  if (typeof type !== "string" || !(VOID.has(type) || tagNames.has(type) || checkTag(type)))
    throw new TypeError(`JSX: ${String(type)} is not an element name or a component`);
  let out = "<" + type;
  for (const name in props) {
    if (name === "children" || name === "key") continue;
    const value = props[name];
    if (name === "dangerouslySetInnerHTML") {
      throw new TypeError("JSX: dangerouslySetInnerHTML is not supported; pass unsafeHtml(markup) as the child instead");
    }
    if (value === null || value === undefined || value === false || typeof value === "function") continue;
    const attribute = attributeName(name);
    if (value === true) out += " " + attribute;
    else if (name === "style" && typeof value === "object") out += ` style="${escapeHtml(styleText(value as Record<string, unknown>))}"`;
    else out += ` ${attribute}="${escapeHtml(shown(value))}"`;
  }
  if (VOID.has(type)) return new Html(out + ">");
  return new Html(out + ">" + renderChild(props.children) + "</" + type + ">");
}

/**
 * The compiler calls jsxs for an element with a static list of children; the same here.
 * @alias jsx (the automatic runtime's contract names it twice)
 */
export const jsxs = jsx;
/**
 * The development form some compilers call; the key and source arguments are ignored.
 * @alias jsx
 */
export const jsxDEV = jsx;

const tagNames = new Set<string>();

function checkTag(type: string): boolean {
  if (!TAG_NAME.test(type)) return false;
  if (tagNames.size < 1000) tagNames.add(type);
  return true;
}

// Checked names, by prop name: a page repeats the same few names thousands of times.
const attributeNames = new Map<string, string>();

function attributeName(name: string): string {
  let attribute = attributeNames.get(name);
  if (attribute === undefined) {
    if (!ATTRIBUTE_NAME.test(name)) throw new TypeError(`JSX: ${JSON.stringify(name)} is not an attribute name`);
    attribute = RENAMED[name] ?? name;
    // Bounded: names come from code, but a spread of request data could bring any number.
    if (attributeNames.size < 1000) attributeNames.set(name, attribute);
  }
  return attribute;
}

function toHtml(value: unknown): Html {
  return isHtml(value) ? value : new Html(renderChild(value));
}

function renderChild(value: unknown): string {
  if (typeof value === "string") return escapeHtml(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value === null || value === undefined || typeof value === "boolean") return "";
  if (isHtml(value)) return value.toString();
  if (typeof value === "object" && Symbol.iterator in value) {
    let out = "";
    for (const item of value as Iterable<unknown>) out += renderChild(item);
    return out;
  }
  return escapeHtml(shown(value));
}

/** A value outside JsxChild (a Date, an object with its own toString), as JavaScript prints it. */
function shown(value: unknown): string {
  return String(value);
}

/** `{ fontSize: 12, color: "red" }` -> `font-size: 12; color: red`. */
function styleText(style: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [prop, value] of Object.entries(style)) {
    if (value === null || value === undefined || value === false) continue;
    const name = prop.startsWith("--") ? prop : prop.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
    parts.push(`${name}: ${shown(value)}`);
  }
  return parts.join("; ");
}

/** The types TypeScript reads for `jsxImportSource: "tscgi"`. */
// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace JSX {
  export type Element = Html;
  export interface ElementChildrenAttribute {
    children: unknown;
  }
  export interface IntrinsicAttributes {
    key?: string | number;
  }
  export interface IntrinsicElements {
    [tag: string]: Record<string, unknown>;
  }
}
