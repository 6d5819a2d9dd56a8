// The keys of what scripts get from tscgi's toolkit: forms, uploads, cookies and sessions.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValueRejected } from "./errors.ts";
import { duration, integer, size, type KeyDef, type Schema } from "./value-kinds.ts";

const SESSION_STORES = ["file", "redis", "memory"] as const;
/** HMAC-SHA256 keys shorter than this can be guessed; 32 characters of base64 carry 192 bits. */
const MIN_COOKIE_SECRET = 32;

/** A directory tscgi writes to: "" is a folder of this name in the system's temporary directory. */
function tempDir(name: string): Pick<KeyDef<string>, "allowed" | "metavar" | "parse"> {
  return {
    allowed: `a directory path, or "" for ${name} in the system's temporary directory`,
    metavar: "DIR",
    parse: (raw, ctx) => (raw.trim() === "" ? join(tmpdir(), name) : ctx.resolvePath(raw.trim())),
  };
}

export const toolkitKeys = {
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
} satisfies Partial<Schema>;
