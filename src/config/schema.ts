// The one list of configuration keys: default, parser, allowed values and meaning of each.
// The config file, environment variables, flags, --help, conf/tscgi.conf and docs/config.md
// all follow it; a key that is not here does not exist.

import { statSync } from "node:fs";
import { parseListen, parseTcpAddress } from "./address.ts";
import { ValueRejected } from "./errors.ts";
import type { Config, ConfigKey } from "./types.ts";
import { parseDuration, parseSize } from "./units.ts";

export interface ParseContext {
  /** Makes a relative path absolute (against the working directory when loading). */
  resolvePath(path: string): string;
}

export interface KeyDef<T> {
  /** The default, written as it would be in a config file. */
  default: string;
  /** Placeholder for the value in --help: `--listen ADDR`. */
  metavar: string;
  /** What the key accepts, completing "expected ...". */
  allowed: string;
  /** What the key does, one line. */
  description: string;
  /** Text to value; throws ValueRejected. Pure: no file system access. */
  parse(raw: string, ctx: ParseContext): T;
  /** A check against the world (the file system), run on the value finally chosen only. */
  check?(value: T): void;
}

export type Schema = { readonly [K in ConfigKey]: KeyDef<Config[K]> };

const SIZE_ALLOWED = "a size like 1048576, 512k, 64m, 1g";
const DURATION_ALLOWED = "a duration like 30s, 500ms, 2m, 1h (a bare number is seconds)";

/** Every extension tscgi can compile or load; `extensions` picks among them. */
export const SCRIPT_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".jsx"] as const;
const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

function integer(min: number, max: number): Pick<KeyDef<number>, "allowed" | "metavar" | "parse"> {
  const allowed = max === Number.MAX_SAFE_INTEGER ? `a whole number of at least ${min}` : `a whole number from ${min} to ${max}`;
  return {
    allowed,
    metavar: "N",
    parse(raw) {
      if (!/^\d+$/.test(raw.trim())) throw new ValueRejected();
      const n = Number(raw.trim());
      if (n < min || n > max) throw new ValueRejected(`${n} is out of range`);
      return n;
    },
  };
}

function size(min: number): Pick<KeyDef<number>, "allowed" | "metavar" | "parse"> {
  return {
    allowed: SIZE_ALLOWED,
    metavar: "SIZE",
    parse(raw) {
      const bytes = parseSize(raw);
      if (bytes < min) throw new ValueRejected(`it must be at least ${min}`);
      return bytes;
    },
  };
}

const duration: Pick<KeyDef<number>, "allowed" | "metavar" | "parse"> = {
  allowed: DURATION_ALLOWED,
  metavar: "DURATION",
  parse: parseDuration,
};

/** A log destination: one of the keywords (any case), else a file path made absolute. */
function logTarget(keywords: readonly string[], raw: string, ctx: ParseContext): string {
  const value = raw.trim();
  if (value === "") throw new ValueRejected("it is empty");
  const keyword = value.toLowerCase();
  return keywords.includes(keyword) ? keyword : ctx.resolvePath(value);
}

export const schema: Schema = {
  listen: {
    default: "127.0.0.1:9000",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT or a Unix socket path, port 1-65535",
    description: "address the FastCGI server listens on; a bare PORT means 127.0.0.1:PORT",
    parse: (raw, ctx) => parseListen(raw, ctx.resolvePath),
  },
  root: {
    default: "cgi-bin",
    metavar: "DIR",
    allowed: "a path to an existing directory",
    description: "directory holding the scripts",
    parse(raw, ctx) {
      if (raw.trim() === "") throw new ValueRejected("it is empty");
      return ctx.resolvePath(raw.trim());
    },
    check(root) {
      let stats;
      try {
        stats = statSync(root);
      } catch {
        throw new ValueRejected(`${root} does not exist`);
      }
      if (!stats.isDirectory()) throw new ValueRejected(`${root} is not a directory`);
    },
  },
  mount: {
    default: "/",
    metavar: "PATH",
    allowed: "a URL path starting with /, like / or /app",
    description: "URL prefix the scripts are served under",
    parse(raw) {
      const value = raw.trim();
      if (!value.startsWith("/")) throw new ValueRejected("it must start with /");
      if (/[\s?#%\\]/.test(value)) throw new ValueRejected("it must be a plain path, without spaces, ?, #, % or \\");
      const segments = value.split("/").filter((segment) => segment !== "");
      if (segments.some((segment) => segment === "." || segment === "..")) {
        throw new ValueRejected("it must not contain . or .. segments");
      }
      return "/" + segments.join("/");
    },
  },
  extensions: {
    default: ".ts,.tsx,.mts,.js,.mjs",
    metavar: "LIST",
    allowed: `a comma-separated list of ${SCRIPT_EXTENSIONS.join(" ")}`,
    description: "file extensions that run as scripts, in the order a URL without one tries them",
    parse(raw) {
      const list = raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
      if (list.length === 0) throw new ValueRejected("the list is empty");
      for (const item of list) {
        if (!(SCRIPT_EXTENSIONS as readonly string[]).includes(item)) {
          throw new ValueRejected(`"${item}" is not one of them`);
        }
      }
      return [...new Set(list)];
    },
  },
  index: {
    default: "index",
    metavar: "NAME",
    allowed: "a file name without extension, like index",
    description: "script a URL ending in / runs, e.g. /admin/ runs admin/index.ts",
    parse(raw) {
      const value = raw.trim();
      if (!/^[A-Za-z0-9][\w-]*$/.test(value)) throw new ValueRejected();
      return value;
    },
  },
  http: {
    default: "off",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT or off",
    description: "address of the embedded HTTP front, for development and trying tscgi without a web server",
    parse(raw) {
      const value = raw.trim();
      return value === "" || value.toLowerCase() === "off" ? null : parseTcpAddress(value);
    },
  },
  workers: {
    default: "0",
    ...integer(0, 1024),
    description: "worker processes; 0 serves everything from a single process (the only mode so far: a larger value logs a warning)",
  },
  access_log: {
    default: "stdout",
    metavar: "TARGET",
    allowed: "stdout, stderr, off or a file path",
    description: "where each request is logged",
    parse: (raw, ctx) => logTarget(["stdout", "stderr", "off"], raw, ctx),
  },
  error_log: {
    default: "stderr",
    metavar: "TARGET",
    allowed: "stderr, stdout or a file path",
    description: "where errors and scripts' stderr are logged",
    parse(raw, ctx) {
      if (raw.trim().toLowerCase() === "off") {
        throw new ValueRejected("the error log cannot be turned off; name /dev/null to discard it");
      }
      return logTarget(["stderr", "stdout"], raw, ctx);
    },
  },
  log_level: {
    default: "info",
    metavar: "LEVEL",
    allowed: `one of ${LOG_LEVELS.join(", ")}`,
    description: "least severe message the error log keeps",
    parse(raw) {
      const level = raw.trim().toLowerCase();
      const found = LOG_LEVELS.find((candidate) => candidate === level);
      if (found === undefined) throw new ValueRejected();
      return found;
    },
  },
  max_body_size: {
    default: "64m",
    ...size(0),
    description: "largest request body accepted, a larger one is answered 413; 0 = unlimited",
  },
  max_params_bytes: {
    default: "128k",
    ...size(1),
    description: "largest FastCGI params (CGI environment) of one request, in bytes",
  },
  max_params: {
    default: "1000",
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most FastCGI params (name-value pairs) in one request",
  },
  max_requests_per_connection: {
    default: "100",
    // FastCGI request ids are 16 bits and id 0 is the management id (FastCGI spec, 3.3).
    ...integer(1, 65535),
    description: "most requests multiplexed at once on one FastCGI connection",
  },
  max_connections: {
    default: "1024",
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most FastCGI connections open at once",
  },
  body_buffer_size: {
    default: "256k",
    ...size(1),
    description: "unread request body buffered per request before reading from the socket pauses",
  },
  request_timeout: {
    default: "60s",
    ...duration,
    description: "longest a request may run before it is aborted; 0 = no limit",
  },
  shutdown_timeout: {
    default: "30s",
    ...duration,
    description: "how long SIGTERM waits for in-flight requests before exiting",
  },
};

/** The keys in schema order: the order of --help, conf/tscgi.conf and docs/config.md. */
export const configKeys = Object.keys(schema) as ConfigKey[];

/** `max_body_size` -> `TSCGI_MAX_BODY_SIZE`. */
export function envName(key: string): string {
  return `TSCGI_${key.toUpperCase()}`;
}

/** `max_body_size` -> `--max-body-size`. */
export function flagName(key: string): string {
  return `--${key.replaceAll("_", "-")}`;
}
