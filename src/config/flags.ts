// The command line: positionals (the command and its arguments) and a --flag for each key.

import minimist from "minimist";
import { ConfigUnknownKeyError } from "./errors.ts";
import { configKeys, flagName } from "./schema.ts";
import { suggest } from "./suggest.ts";
import type { ConfigKey, RawValue } from "./types.ts";

/** Flags that are not config keys: the config file to read, and the ones that report and exit. */
export const extraFlags = [
  { name: "config", alias: "c", metavar: "PATH", description: "config file to read (default: conf/tscgi.conf, if it exists)" },
  { name: "test-config", alias: "t", metavar: null, description: 'check the configuration, print "configuration OK" and exit' },
  { name: "help", alias: "h", metavar: null, description: "show this help and exit" },
  { name: "version", alias: "v", metavar: null, description: "print the version and exit" },
] as const;

export interface CommandLine {
  values: Map<ConfigKey, RawValue>;
  positionals: string[];
  config: string | null;
  help: boolean;
  version: boolean;
  testConfig: boolean;
}

const byFlag = new Map(configKeys.map((key) => [flagName(key).slice(2), key]));
const known = new Set<string>(["_", ...byFlag.keys(), ...extraFlags.flatMap((flag) => [flag.name, flag.alias])]);
const suggestions = [...byFlag.keys(), ...extraFlags.map((flag) => flag.name)].map((name) => `--${name}`);

/** minimist keeps every occurrence of a repeated flag; the last one wins, as in most tools. */
function last(value: unknown): string {
  return String(Array.isArray(value) ? value.at(-1) : value);
}

export function parseArgv(argv: string[]): CommandLine {
  const parsed = minimist(argv, {
    // Every value is a string ("_" too), so "0700" or "09" reach the parsers as written.
    string: ["_", "config", ...byFlag.keys()],
    boolean: ["help", "version", "test-config"],
    alias: { c: "config", h: "help", v: "version", t: "test-config" },
  });
  for (const name of Object.keys(parsed)) {
    if (known.has(name)) continue;
    const written = name.length === 1 ? `-${name}` : `--${name}`;
    throw new ConfigUnknownKeyError(written, { kind: "flag", name: written }, suggest(written, suggestions));
  }
  const values = new Map<ConfigKey, RawValue>();
  for (const [flag, key] of byFlag) {
    if (parsed[flag] === undefined) continue;
    const raw = last(parsed[flag]);
    values.set(key, { key, raw, shown: JSON.stringify(raw), origin: { kind: "flag", name: `--${flag}` } });
  }
  return {
    values,
    positionals: parsed._.map(String),
    config: parsed.config === undefined ? null : last(parsed.config),
    help: parsed.help === true,
    version: parsed.version === true,
    testConfig: parsed["test-config"] === true,
  };
}
