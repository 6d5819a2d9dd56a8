// The config file: PHP-FPM-style `key = value` lines, or a JSON object of the same keys.

import { readFileSync } from "node:fs";
import { ConfigBadValueError, ConfigFileError, ConfigUnknownKeyError } from "./errors.ts";
import { configKeys, schema } from "./schema.ts";
import { suggest } from "./suggest.ts";
import type { ConfigKey, RawValue } from "./types.ts";

/** The one section header accepted (and ignored), so a file may open like a PHP-FPM pool. */
const SECTION = "tscgi";

function isKey(name: string): name is ConfigKey {
  return Object.hasOwn(schema, name);
}

function unknownKey(name: string, file: string, line: number): ConfigUnknownKeyError {
  return new ConfigUnknownKeyError(name, { kind: "file", file, line }, suggest(name, configKeys));
}

/**
 * Reads the config file at `path` into raw values by key; `file` is how messages name it.
 * `.json` files are JSON, any other name is key = value.
 */
export function readConfigFile(path: string, file: string): Map<ConfigKey, RawValue> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String((error as Error).message);
    throw new ConfigFileError(file, null, `cannot be read: ${reason}`, { cause: error });
  }
  text = text.replace(/^\uFEFF/, "");
  return path.toLowerCase().endsWith(".json") ? parseJson(text, file) : parseKeyValue(text, file);
}

/** `value`, `"value"` or `'value'`; unquoted, a ; or # after whitespace starts a comment. */
function parseValue(text: string, file: string, line: number): string {
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    if (end === -1) throw new ConfigFileError(file, line, `the value ${text} has no closing ${quote}`);
    const rest = text.slice(end + 1).trim();
    if (rest !== "" && !rest.startsWith(";") && !rest.startsWith("#")) {
      throw new ConfigFileError(file, line, `unexpected ${rest} after the quoted value`);
    }
    return text.slice(1, end);
  }
  return text.replace(/\s[;#].*$/, "").trim();
}

export function parseKeyValue(text: string, file: string): Map<ConfigKey, RawValue> {
  const values = new Map<ConfigKey, RawValue>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const content = lines[i].trim();
    if (content === "" || content.startsWith(";") || content.startsWith("#")) continue;
    if (content.startsWith("[")) {
      if (content === `[${SECTION}]`) continue;
      throw new ConfigFileError(
        file,
        line,
        `sections are not supported: ${content} (tscgi has one set of keys; remove the header, or write [${SECTION}])`,
      );
    }
    const equals = content.indexOf("=");
    if (equals === -1) throw new ConfigFileError(file, line, `expected "key = value", got ${JSON.stringify(content)}`);
    const name = content.slice(0, equals).trim();
    if (name === "") throw new ConfigFileError(file, line, `a key is missing before "="`);
    if (!isKey(name)) throw unknownKey(name, file, line);
    const earlier = values.get(name);
    if (earlier !== undefined && earlier.origin.kind === "file") {
      throw new ConfigFileError(file, line, `${name} is set twice, on lines ${earlier.origin.line} and ${line}; keep one`);
    }
    const raw = parseValue(content.slice(equals + 1).trim(), file, line);
    values.set(name, { key: name, raw, shown: JSON.stringify(raw), origin: { kind: "file", file, line } });
  }
  return values;
}

/** The 1-based line holding character `offset`. */
function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/** Where `"name":` first appears, for messages about a key of a JSON file. */
function lineOfKey(text: string, name: string): number {
  const at = text.indexOf(JSON.stringify(name));
  return at === -1 ? 1 : lineAt(text, at);
}

/** A JSON value as the text a key's parser takes: lists joined by commas, null as "" (off, for http). */
function jsonRaw(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (value === null) return "";
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(",");
  return null;
}

export function parseJson(text: string, file: string): Map<ConfigKey, RawValue> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // V8 says "... at position N" (and from Node 21 also "(line L column C)").
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    const line = position === null ? null : lineAt(text, Number(position[1]));
    throw new ConfigFileError(file, line, `invalid JSON: ${message}`, { cause: error });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigFileError(file, 1, "a JSON config file must hold one object of keys and values");
  }
  const values = new Map<ConfigKey, RawValue>();
  for (const [name, value] of Object.entries(data)) {
    const line = lineOfKey(text, name);
    if (!isKey(name)) throw unknownKey(name, file, line);
    const origin = { kind: "file", file, line } as const;
    const raw = jsonRaw(value);
    if (raw === null) {
      throw new ConfigBadValueError(name, JSON.stringify(value), schema[name].allowed, origin, "write it as a JSON string");
    }
    values.set(name, { key: name, raw, shown: JSON.stringify(value), origin });
  }
  return values;
}
