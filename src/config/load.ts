// Defaults < config file < environment < flags, merged into one validated Config.

import { existsSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { CONFIG_ENV, readEnv } from "./env.ts";
import { ConfigBadValueError, ValueRejected } from "./errors.ts";
import { readConfigFile } from "./file.ts";
import { parseArgv } from "./flags.ts";
import { resolveConfig } from "./resolve.ts";
import { configKeys, schema } from "./schema.ts";
import type { KeyDef, ParseContext } from "./value-kinds.ts";
import type { Config, ConfigKey, LoadedConfig, ParsedConfig, RawValue } from "./types.ts";

/** Read when neither --config nor TSCGI_CONFIG names a file, if it exists. */
const DEFAULT_CONFIG_FILE = "conf/tscgi.conf";

/** Commands that never serve from the root, so a missing cgi-bin/ must not stop them. */
const COMMANDS_WITHOUT_ROOT = new Set(["help", "version", "cgi"]);

type Parsed = ParsedConfig[ConfigKey];

/** The schema entry of a key, typed loosely: the loader handles every key alike. */
function defOf(key: ConfigKey): KeyDef<Parsed> {
  return schema[key];
}

function parseValue(value: RawValue, ctx: ParseContext): Parsed {
  const def = defOf(value.key);
  try {
    return def.parse(value.raw, ctx);
  } catch (error) {
    if (!(error instanceof ValueRejected)) throw error;
    throw new ConfigBadValueError(value.key, value.shown, def.allowed, value.origin, error.detail);
  }
}

/** The value after its key's check, which may replace it (a user name by its uid). */
function checkValue(value: RawValue, parsed: Parsed): Parsed {
  const def = defOf(value.key);
  try {
    return def.check?.(parsed) ?? parsed;
  } catch (error) {
    if (!(error instanceof ValueRejected)) throw error;
    throw new ConfigBadValueError(value.key, value.shown, def.allowed, value.origin, error.detail);
  }
}

/** The defaults as raw values, the lowest layer. */
function defaultValues(): Map<ConfigKey, RawValue> {
  return new Map(
    configKeys.map((key) => {
      const raw = schema[key].default;
      return [key, { key, raw, shown: JSON.stringify(raw), origin: { kind: "default" } }];
    }),
  );
}

/** Every key parsed from its default, relative paths left as written (`root` is "cgi-bin"). */
export const defaults: Config = Object.freeze(
  resolveConfig(
    Object.fromEntries(
      [...defaultValues()].map(([key, value]) => [key, parseValue(value, { resolvePath: (path) => path })]),
    ) as unknown as ParsedConfig,
    defaultValues(),
  ),
);

/** A path as messages show it: relative to cwd when inside it, else absolute. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

export function loadConfig(input: { argv: string[]; env: Record<string, string | undefined>; cwd: string }): LoadedConfig {
  const cwd = resolve(input.cwd);
  const ctx: ParseContext = { resolvePath: (path) => resolve(cwd, path) };
  const commandLine = parseArgv(input.argv);
  const env = readEnv(input.env);

  // An empty --config or TSCGI_CONFIG counts as not given, as an unset variable would.
  const named = commandLine.config || input.env[CONFIG_ENV] || null;
  let source: string | null = named === null ? null : resolve(cwd, named);
  if (source === null && existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) source = resolve(cwd, DEFAULT_CONFIG_FILE);
  const file = source === null ? new Map<ConfigKey, RawValue>() : readConfigFile(source, displayPath(source, cwd));

  // Every value given is parsed, not only the winning one: a typo in the file is reported
  // even while a flag overrides it, rather than surfacing later when the flag is dropped.
  const layers = [defaultValues(), file, env, commandLine.values];
  const parsed = {} as Record<ConfigKey, Parsed>;
  const chosen = new Map<ConfigKey, RawValue>();
  for (const layer of layers) {
    for (const [key, value] of layer) {
      parsed[key] = parseValue(value, ctx);
      chosen.set(key, value);
    }
  }

  const [command = "serve", ...args] = commandLine.positionals;
  const { help, version, testConfig } = commandLine;
  for (const [key, value] of chosen) {
    if (key === "root" && (help || version || COMMANDS_WITHOUT_ROOT.has(command))) continue;
    parsed[key] = checkValue(value, parsed[key]);
  }
  const config = resolveConfig(parsed as unknown as ParsedConfig, chosen);
  return { config, command, args, help, version, testConfig, source };
}
