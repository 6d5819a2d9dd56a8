// The one list of configuration keys: default, parser, allowed values and meaning of each.
// The config file, environment variables, flags, --help, conf/tscgi.conf and docs/config.md
// all follow it; a key that is not here does not exist.

import { statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { AccessFormatError, parseAccessFormat } from "./access-format.ts";
import { parseListen, parseTcpAddress } from "./address.ts";
import { parseClientList } from "./clients.ts";
import { FCGI_LIMIT_DEFAULTS } from "../fastcgi/limits.ts";
import { DEFAULT_EXTENSIONS, SCRIPT_EXTENSIONS } from "../scripts/extensions.ts";
import { cgroupCpuLimit } from "./cpu-quota.ts";
import { ValueRejected } from "./errors.ts";
import { GROUP_FILE, PASSWD_FILE } from "./ids.ts";
import type { ConfigKey, ParsedConfig } from "./types.ts";
import { autoOrInteger, duration, integer, logTarget, owner, pagePath, size, yesNo, type KeyDef } from "./value-kinds.ts";

import { parseDuration, sizeText } from "./units.ts";

/** Each key's parser gives its ParsedConfig type; resolve.ts then settles the final Config. */
export type Schema = { readonly [K in ConfigKey]: KeyDef<ParsedConfig[K]> };

const CLIENTS_ALLOWED = "any, or IPv4 and IPv6 addresses with an optional /prefix, separated by commas or spaces";
const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
const PROCESS_MANAGERS = ["static", "dynamic", "ondemand"] as const;
const SESSION_STORES = ["file", "redis", "memory"] as const;
/** HMAC-SHA256 keys shorter than this can be guessed; 32 characters of base64 carry 192 bits. */
const MIN_COOKIE_SECRET = 32;

/** The most worker processes; "auto" is capped to it on machines with more CPUs. */
const MAX_WORKERS = 1024;

/** The CPU count, as `workers = auto` means: the cores this process may run on, fewer under a cgroup CPU quota (rounded up). */
function autoWorkers(): number {
  const quota = cgroupCpuLimit();
  const cpus = quota === null ? availableParallelism() : Math.min(availableParallelism(), Math.max(1, Math.ceil(quota)));
  return Math.min(MAX_WORKERS, cpus);
}

const workerCount = integer(0, MAX_WORKERS);

/**
 * glibc's default is 8 malloc arenas per core, each grown by whichever thread (libuv pool,
 * watchdog, V8's GC helpers) allocated in it at a load's peak and kept after: 2 serve a worker.
 */
const DEFAULT_WORKER_MALLOC_ARENA_MAX = 2;

/**
 * MiB per V8 semi-space in a worker; 0 is Node's default, which grows to 16 MiB under load (with
 * nginx opening a connection per request, 32 MiB of young generation, 27 of it resident, kept
 * after the load). 4 MiB: a worker after that load 87-88 MiB instead of 105-111, and the same CPU
 * per request (hello 32-34 µs, the template page 68-69 µs, best of 3 against 34 and 69); 1 MiB
 * cost the template row 7-12 % req/s.
 */
const DEFAULT_WORKER_SEMI_SPACE_SIZE = 4;

/** A directory tscgi writes to: "" is a folder of this name in the system's temporary directory. */
function tempDir(name: string): Pick<KeyDef<string>, "allowed" | "metavar" | "parse"> {
  return {
    allowed: `a directory path, or "" for ${name} in the system's temporary directory`,
    metavar: "DIR",
    parse: (raw, ctx) => (raw.trim() === "" ? join(tmpdir(), name) : ctx.resolvePath(raw.trim())),
  };
}

const JITTER = /^(\d+(?:\.\d+)?)(%?)$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `env`: "A, B=some value" -> [["A", null], ["B", "some value"]]; a value cannot hold a comma. */
function parseEnvList(raw: string): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  for (const item of raw.split(",")) {
    const text = item.trim();
    if (text === "") continue;
    const equals = text.indexOf("=");
    const name = (equals === -1 ? text : text.slice(0, equals)).trim();
    if (!ENV_NAME.test(name)) throw new ValueRejected(`"${name}" is not a variable name (letters, digits and _, not first a digit)`);
    if (out.some(([seen]) => seen === name)) throw new ValueRejected(`${name} is named twice`);
    out.push([name, equals === -1 ? null : text.slice(equals + 1).trim()]);
  }
  return out;
}

export const schema: Schema = {
  listen: {
    default: "127.0.0.1:9000",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT or a Unix socket path, port 1-65535",
    description: "address the FastCGI server listens on; a bare PORT means 127.0.0.1:PORT",
    parse: (raw, ctx) => parseListen(raw, ctx.resolvePath),
  },
  listen_backlog: {
    default: "511",
    ...integer(1, 65535),
    description: "connections the kernel queues before they are accepted (capped by net.core.somaxconn)",
  },
  listen_mode: {
    default: "0660",
    metavar: "MODE",
    allowed: "an octal file mode up to 0777, like 0660, 660 or 0o660",
    description: "permissions of a Unix socket in listen",
    parse(raw) {
      const match = /^(?:0o)?([0-7]{1,4})$/i.exec(raw.trim());
      if (match === null) throw new ValueRejected();
      const mode = parseInt(match[1], 8);
      if (mode > 0o777) throw new ValueRejected("the setuid, setgid and sticky bits are not allowed");
      return mode;
    },
  },
  listen_owner: {
    default: "",
    ...owner(PASSWD_FILE, "user"),
    description: "user that owns a Unix socket in listen; empty = the user tscgi runs as",
  },
  listen_group: {
    default: "",
    ...owner(GROUP_FILE, "group"),
    description: "group of a Unix socket in listen; empty = tscgi's own group",
  },
  allowed_clients: {
    default: "any",
    metavar: "LIST",
    allowed: CLIENTS_ALLOWED,
    description: "addresses that may connect over TCP; others are closed at once",
    parse: parseClientList,
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
  templates: {
    default: "",
    metavar: "DIR",
    allowed: 'a directory path, or "" for templates beside root',
    description: "directory of the templates cgi.render() reads; never served, even inside root",
    parse: (raw, ctx) => (raw.trim() === "" ? null : ctx.resolvePath(raw.trim())),
    check(dir) {
      // It may be created later; a file of that name is a mistake.
      if (dir !== null && statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false)
        throw new ValueRejected(`${dir} is not a directory`);
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
    default: DEFAULT_EXTENSIONS.join(","),
    metavar: "LIST",
    allowed: `a comma-separated list of ${SCRIPT_EXTENSIONS.join(" ")}`,
    description: "file extensions that run as scripts, in the order a URL without one tries them",
    parse(raw) {
      const list = raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
      if (list.length === 0) throw new ValueRejected("the list is empty");
      for (const item of list) {
        if (!SCRIPT_EXTENSIONS.includes(item)) {
          throw new ValueRejected(`"${item}" is not one of them`);
        }
      }
      return [...new Set(list)];
    },
  },
  preload: {
    default: "",
    metavar: "LIST",
    allowed: "a comma-separated list of URL paths of scripts, like /hello,/users/",
    description: "scripts each process loads when it starts, before serving, so their first request is not a cold one",
    parse(raw) {
      const list = raw
        .split(",")
        .map((path) => path.trim())
        .filter((path) => path !== "");
      const bad = list.find((path) => !path.startsWith("/"));
      if (bad !== undefined) throw new ValueRejected(`"${bad}" is not a URL path (it must start with /)`);
      return list;
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
  cgi_cache_dir: {
    default: "",
    metavar: "DIR",
    allowed: 'a directory path, "" for tscgi-cgi-UID in the system\'s temporary directory, or off',
    description: "where tscgi cgi keeps compiled scripts, so a request does not compile them again",
    parse(raw, ctx) {
      const value = raw.trim();
      if (value.toLowerCase() === "off") return null;
      // Per user: the web server's CGI user must own it (see scripts/disk-cache.ts).
      return value === "" ? join(tmpdir(), `tscgi-cgi-${process.getuid?.() ?? "user"}`) : ctx.resolvePath(value);
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
    default: "auto",
    allowed: `auto (one per CPU) or a whole number from 0 to ${MAX_WORKERS}`,
    metavar: "N",
    description: "worker processes, the most the pool runs at once; auto is one per CPU, 0 serves everything from a single process",
    parse: (raw, ctx) => (raw.trim().toLowerCase() === "auto" ? autoWorkers() : workerCount.parse(raw, ctx)),
  },
  pm: {
    default: "static",
    metavar: "MODE",
    allowed: `one of ${PROCESS_MANAGERS.join(", ")}`,
    description:
      "how workers are managed: static runs all of them, dynamic keeps between pm_min_spare_servers and pm_max_spare_servers idle, ondemand starts them as requests arrive",
    parse(raw) {
      const mode = raw.trim().toLowerCase();
      const found = PROCESS_MANAGERS.find((candidate) => candidate === mode);
      if (found === undefined) throw new ValueRejected();
      return found;
    },
  },
  pm_start_servers: {
    default: "auto",
    ...autoOrInteger(1, MAX_WORKERS),
    description: "workers started at first when pm is dynamic; auto is halfway from pm_min_spare_servers to pm_max_spare_servers",
  },
  pm_min_spare_servers: {
    default: "1",
    ...integer(1, MAX_WORKERS),
    description: "fewest idle workers when pm is dynamic; fewer idle start more",
  },
  pm_max_spare_servers: {
    default: "auto",
    ...autoOrInteger(1, MAX_WORKERS),
    description: "most idle workers when pm is dynamic; more idle are stopped; auto is half of workers, at least pm_min_spare_servers",
  },
  pm_process_idle_timeout: {
    default: "10s",
    ...duration,
    description: "how long a worker may idle before it is stopped, when pm is ondemand",
    parse(raw) {
      const ms = parseDuration(raw);
      if (ms === 0) throw new ValueRejected("it must be more than 0");
      return ms;
    },
  },
  max_requests: {
    default: "0",
    ...integer(0, Number.MAX_SAFE_INTEGER),
    description: "requests a worker serves before it is replaced; 0 = never",
  },
  max_requests_jitter: {
    default: "10%",
    metavar: "N|N%",
    allowed: "a number of requests like 50, or a percentage of max_requests from 0% to 100%, like 10%",
    description: "a random 0 to this many requests added to each worker's max_requests, so workers are not all replaced at once",
    parse(raw) {
      const match = JITTER.exec(raw.trim());
      if (match === null) throw new ValueRejected();
      const amount = Number(match[1]);
      const percent = match[2] === "%";
      if (percent && amount > 100) throw new ValueRejected("a percentage is at most 100%");
      if (!percent && !Number.isSafeInteger(amount)) throw new ValueRejected("a number of requests is a whole number");
      return { amount, percent };
    },
  },
  worker_memory_limit: {
    default: "1g",
    ...size(0),
    description: "resident memory (RSS) above which a worker is replaced once its requests finish; 0 = no limit",
  },
  worker_malloc_arena_max: {
    default: String(DEFAULT_WORKER_MALLOC_ARENA_MAX),
    ...integer(0, 1024),
    description: "MALLOC_ARENA_MAX workers start with, unless tscgi's environment or env sets it; 0 = glibc's default (8 per core)",
  },
  worker_semi_space_size: {
    default: String(DEFAULT_WORKER_SEMI_SPACE_SIZE),
    ...integer(0, 1024),
    description:
      "MiB per V8 semi-space in workers (Node's --max-semi-space-size), unless NODE_OPTIONS sets it; 0 = Node's default (up to 16)",
  },
  worker_max_age: {
    default: "0",
    ...duration,
    description: "age after which a worker is replaced once its requests finish; 0 = no limit",
  },
  max_inflight: {
    default: "1024",
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most requests one worker runs at once; more are answered 503 with Retry-After",
  },
  overload_retry_after: {
    default: "1s",
    ...duration,
    description: "Retry-After of the 503 answers max_inflight causes, in whole seconds rounded up",
  },
  respawn_backoff_max: {
    default: "30s",
    ...duration,
    description: "longest wait before a worker that keeps crashing is started again",
  },
  clear_env: {
    default: "yes",
    ...yesNo,
    description:
      "scripts see only the variables env names (and PATH, HOME, LANG, TZ, TMPDIR, NODE_*), not tscgi's whole environment; no = all of it",
  },
  env: {
    default: "",
    metavar: "LIST",
    allowed: 'variable names to pass on from tscgi\'s environment, or NAME=value to set one, separated by commas, or "" for none',
    description:
      "environment variables scripts get, like PHP-FPM's env[NAME]: DATABASE_URL passes tscgi's own value on, MODE=live sets one",
    parse: parseEnvList,
  },
  status_path: {
    default: "off",
    ...pagePath,
    description: "URL path of the pool status page (PHP-FPM's fields; ?json, ?full, ?openmetrics)",
  },
  status_allowed_clients: {
    default: "127.0.0.1,::1",
    metavar: "LIST",
    allowed: CLIENTS_ALLOWED,
    description: "clients that may see the status page: REMOTE_ADDR, else the connection's peer, must match",
    parse: parseClientList,
  },
  ping_path: {
    default: "off",
    ...pagePath,
    description: "URL path answered with ping_response, for health checks",
  },
  ping_response: {
    default: "pong",
    metavar: "TEXT",
    allowed: "any text",
    description: "body of the ping_path answer",
    parse: (raw) => raw,
  },
  status_listen: {
    default: "off",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT, a Unix socket path, or off",
    description: "a FastCGI address of its own where the master answers status_path and ping_path, also when every worker is busy",
    parse(raw, ctx) {
      const value = raw.trim();
      return value === "" || value.toLowerCase() === "off" ? null : parseListen(value, ctx.resolvePath);
    },
  },
  access_log: {
    default: "stdout",
    metavar: "TARGET",
    allowed: "stdout, stderr, off or a file path",
    description: "where each request is logged",
    parse: (raw, ctx) => logTarget(["stdout", "stderr", "off"], raw, ctx),
  },
  access_format: {
    default: "default",
    metavar: "FORMAT",
    allowed: "default, json, or a PHP-FPM access.format string of %-tokens",
    description: "the access log line: default, json, or tokens like %R %m %r %s %d",
    parse(raw) {
      let format;
      try {
        format = parseAccessFormat(raw);
      } catch (error) {
        if (error instanceof AccessFormatError) throw new ValueRejected(error.detail);
        throw error;
      }
      return format.kind === "tokens" ? raw : format.kind;
    },
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
  decorate_workers_output: {
    default: "yes",
    ...yesNo,
    description: "prefix each line a worker writes to stdout or stderr with the worker's pid",
  },
  display_errors: {
    default: "no",
    ...yesNo,
    description:
      "show a script's error on its 500 page: file:line, source, stack and request, for development only; off, the page shows a request id the error log also has",
  },
  slowlog: {
    default: "stderr",
    metavar: "TARGET",
    allowed: "stderr, stdout or a file path",
    description: "where requests running longer than request_slowlog_timeout are logged",
    parse(raw, ctx) {
      if (raw.trim().toLowerCase() === "off") {
        throw new ValueRejected("turn the slow log off with request_slowlog_timeout = 0");
      }
      return logTarget(["stderr", "stdout"], raw, ctx);
    },
  },
  request_slowlog_timeout: {
    default: "0",
    ...duration,
    description: "a request running longer is logged to slowlog; 0 = off",
  },
  max_body_size: {
    default: "64m",
    ...size(0),
    description: "largest request body accepted, a larger one is answered 413; 0 = unlimited",
  },
  max_params_bytes: {
    default: sizeText(FCGI_LIMIT_DEFAULTS.maxParamsBytes),
    ...size(1),
    description: "largest FastCGI params (CGI environment) of one request, in bytes",
  },
  max_params: {
    default: String(FCGI_LIMIT_DEFAULTS.maxParamsPairs),
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most FastCGI params (name-value pairs) in one request",
  },
  max_pending_params_bytes: {
    default: sizeText(FCGI_LIMIT_DEFAULTS.maxPendingParamsBytes),
    ...size(1),
    description:
      "most bytes of unfinished FastCGI params held at once for all the requests on one connection, at least max_params_bytes; more closes the connection",
  },
  max_requests_per_connection: {
    default: String(FCGI_LIMIT_DEFAULTS.maxRequests),
    // FastCGI request ids are 16 bits and id 0 is the management id (FastCGI spec, 3.3).
    ...integer(1, 65535),
    description: "most requests multiplexed at once on one FastCGI connection",
  },
  max_connections: {
    default: String(FCGI_LIMIT_DEFAULTS.maxConnections),
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most FastCGI connections open at once",
  },
  params_timeout: {
    default: "10s",
    ...duration,
    description:
      "longest a FastCGI connection may take to send a request's params, from its accept or its BEGIN_REQUEST; then it is closed; 0 = no limit",
  },
  keepalive_timeout: {
    default: "90s",
    ...duration,
    description:
      "how long a kept-alive FastCGI connection carrying no request stays open; keep it above the web server's own (nginx: 60s); 0 = no limit",
  },
  body_buffer_size: {
    default: sizeText(FCGI_LIMIT_DEFAULTS.stdinHighWaterMark),
    ...size(1),
    description: "unread request body buffered per request before reading from the socket pauses",
  },
  request_timeout: {
    default: "60s",
    ...duration,
    description: "longest a request may run before it is aborted; a worker stuck past it is replaced; 0 = no limit",
  },
  request_timeout_grace: {
    default: "10s",
    ...duration,
    description:
      "how long a script may go on after request_timeout aborted its request before its worker is replaced once its other requests finish; 0 = never",
  },
  shutdown_timeout: {
    default: "30s",
    ...duration,
    description: "how long SIGTERM waits for in-flight requests before exiting",
  },
  dispose_timeout: {
    default: "5s",
    ...duration,
    description:
      "how long a script module's dispose() may run, on a hot reload or when its worker stops, before tscgi goes on without it; 0 = no limit",
  },
  upload_tmp_dir: {
    default: "",
    ...tempDir("tscgi-uploads"),
    description: "directory uploaded files are streamed to, one subdirectory per request, removed when it ends; must be outside root",
  },
  upload_max_file_size: {
    default: "64m",
    ...size(0),
    description: "largest file in a form, a larger one is answered 413; 0 = only max_body_size limits it",
  },
  upload_max_files: {
    default: "20",
    ...integer(0, Number.MAX_SAFE_INTEGER),
    description: "most files in one form, more are answered 413",
  },
  form_max_fields: {
    default: "1000",
    ...integer(0, Number.MAX_SAFE_INTEGER),
    description: "most fields (not counting files) in one form, more are answered 413",
  },
  form_max_field_size: {
    default: "1m",
    ...size(1),
    description: "longest name or value of one form field, in bytes, a longer one is answered 413",
  },
  cookie_secret: {
    default: "",
    metavar: "LIST",
    allowed: `secrets of at least ${MIN_COOKIE_SECRET} characters separated by commas or spaces, or "" for none`,
    description:
      "keys that sign cookies: the first signs, any verifies, so a new key goes first and an old one last until its cookies expire",
    parse(raw) {
      const secrets = raw.split(/[\s,]+/).filter((secret) => secret !== "");
      const short = secrets.find((secret) => secret.length < MIN_COOKIE_SECRET);
      if (short !== undefined) throw new ValueRejected(`a secret of ${short.length} characters is too short to resist guessing`);
      return secrets;
    },
  },
  session_store: {
    default: "file",
    metavar: "STORE",
    allowed: `one of ${SESSION_STORES.join(", ")}`,
    description: "where sessions live: file (this host's workers), redis (several hosts), memory (one process only)",
    parse(raw) {
      const store = raw.trim().toLowerCase();
      const found = SESSION_STORES.find((candidate) => candidate === store);
      if (found === undefined) throw new ValueRejected();
      return found;
    },
  },
  session_save_path: {
    default: "",
    ...tempDir("tscgi-sessions"),
    description: "directory of the file session store, one sess_ID file per session; must be outside root",
  },
  session_redis_url: {
    default: "redis://127.0.0.1:6379",
    metavar: "URL",
    allowed: "redis://[user:password@]host[:port][/db] or rediss:// for TLS",
    description: "Redis server of the redis session store",
    parse(raw) {
      let url;
      try {
        url = new URL(raw.trim());
      } catch {
        throw new ValueRejected();
      }
      if (url.protocol !== "redis:" && url.protocol !== "rediss:")
        throw new ValueRejected(`the scheme is ${url.protocol} not redis: or rediss:`);
      if (url.hostname === "") throw new ValueRejected("the host is missing");
      return url.href;
    },
  },
  session_cookie: {
    default: "TSCGISESSID",
    metavar: "NAME",
    allowed: "a cookie name (an HTTP token) like TSCGISESSID: letters, digits, - _ . and a few other symbols",
    description: "name of the cookie that carries the session id",
    parse(raw) {
      const name = raw.trim();
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new ValueRejected();
      return name;
    },
  },
  session_idle_timeout: {
    default: "24m",
    ...duration,
    description: "a session unused this long is gone; 0 = never",
  },
  session_max_lifetime: {
    default: "24h",
    ...duration,
    description: "a session this old is gone however busy, so a stolen id does not last; 0 = no limit",
  },
  session_lock_timeout: {
    default: "10s",
    ...duration,
    description: "how long a request waits for another request of the same session before answering 503",
  },
  session_gc_probability: {
    default: "1%",
    metavar: "N%",
    allowed: "a percentage from 0% to 100%, like 1% or 0.1%",
    description: "chance that a session start also removes expired sessions of the file store; 0% = never",
    parse(raw) {
      const match = /^(\d+(?:\.\d+)?)%$/.exec(raw.trim());
      if (match === null) throw new ValueRejected();
      const percent = Number(match[1]);
      if (percent > 100) throw new ValueRejected("a percentage is at most 100%");
      return percent / 100;
    },
  },
};

/** A default as --help, conf/tscgi.conf and docs/config.md write it: "" stays visible. */
export function shownDefault(key: ConfigKey): string {
  const value = schema[key].default;
  return value === "" ? '""' : value;
}

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
