// Errors raised while loading the configuration: an unknown key, a bad value, an unreadable file.

import { TscgiError } from "../errors.ts";
import type { Origin } from "./origin.ts";

/** Where a value came from, as a message names it: `conf/tscgi.conf:12`, `flag --root`, ... */
function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case "default":
      return "the default";
    case "file":
      return `${origin.file}:${origin.line}`;
    case "env":
      return `environment variable ${origin.name}`;
    case "flag":
      return `flag ${origin.name}`;
  }
}

/** Any configuration fault; the process cannot start until the operator fixes it. */
export abstract class ConfigError extends TscgiError {}

/** A key, environment variable or flag that tscgi does not know. */
export class ConfigUnknownKeyError extends ConfigError {
  readonly code = "TSCGI_E_CONFIG_UNKNOWN_KEY";

  constructor(
    /** The name as written: `max_body`, `TSCGI_LISTN`, `--listn`. */
    readonly key: string,
    readonly origin: Origin,
    /** The nearest known name, in the same spelling, if one is close. */
    readonly suggestion: string | null,
  ) {
    const what = origin.kind === "env" ? "environment variable" : origin.kind === "flag" ? "flag" : "key";
    const where = origin.kind === "file" ? ` in ${describeOrigin(origin)}` : "";
    const hint = suggestion === null ? "" : `did you mean ${suggestion}? `;
    super(`unknown ${what} ${key}${where} (${hint}every key is listed by tscgi --help and in docs/config.md)`);
  }
}

/** A value its key's parser refused, or that failed a check (a root that is not a directory). */
export class ConfigBadValueError extends ConfigError {
  readonly code = "TSCGI_E_CONFIG_BAD_VALUE";

  constructor(
    readonly key: string,
    /** The value as the operator wrote it, quoted when it was a string. */
    readonly value: string,
    /** What the key accepts, e.g. `a size like 1048576, 512k, 64m, 1g`. */
    readonly allowed: string,
    readonly origin: Origin,
    /** Why this value in particular was refused, when "allowed" alone does not say. */
    readonly detail: string | null = null,
  ) {
    const why = detail === null ? "" : `; ${detail}`;
    super(`bad value for ${key} in ${describeOrigin(origin)}: ${value} (expected ${allowed}${why})`);
  }
}

/** A config file that cannot be read or parsed; `line` is set for syntax errors. */
export class ConfigFileError extends ConfigError {
  readonly code = "TSCGI_E_CONFIG_FILE";

  constructor(
    /** The file as messages name it (relative to the working directory when inside it). */
    readonly file: string,
    readonly line: number | null,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`config file ${line === null ? file : `${file}:${line}`}: ${problem}`, options);
  }
}

/** One of the values a ConfigConflictError names. */
export interface ConflictingValue {
  key: string;
  /** As the operator wrote it, quoted when a string; an "auto" also shows what it came to. */
  value: string;
  origin: Origin;
}

/** Values each valid alone that do not fit together, e.g. pm_max_spare_servers above workers. */
export class ConfigConflictError extends ConfigError {
  readonly code = "TSCGI_E_CONFIG_CONFLICT";
  /** The keys involved, in the order the message names them. */
  readonly keys: string[];

  constructor(
    readonly values: readonly ConflictingValue[],
    /** The rule they break, completing "expected ...". */
    readonly rule: string,
  ) {
    const named = values.map((v) => `${v.key} ${v.value} in ${describeOrigin(v.origin)}`).join(", ");
    super(`conflicting values: ${named} (expected ${rule})`);
    this.keys = values.map((v) => v.key);
  }
}

/**
 * Thrown by a key's parser or check; the loader turns it into a ConfigBadValueError that names
 * the key, the value and its origin, which the parser does not know.
 */
export class ValueRejected extends Error {
  constructor(readonly detail: string | null = null) {
    super(detail ?? "value rejected");
    this.name = "ValueRejected";
  }
}
