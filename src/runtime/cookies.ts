// Cookies (RFC 6265, with RFC 6265bis's SameSite, prefixes and limits): the request's Cookie
// header as a read-only map, and Set-Cookie values built and checked attribute by attribute.
import { CookieInvalidError } from "./errors.ts";

/** RFC 6265bis 5.6: user agents ignore a cookie whose name and value together pass 4096 bytes. */
const MAX_COOKIE_NAME_VALUE_BYTES = 4096;
/** RFC 6265bis 5.6.1: a Max-Age or Expires further out than 400 days is cut to 400 days. */
export const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;

// RFC 6265 4.1.1: cookie-name is an RFC 2616 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 4.1.1: cookie-octet, US-ASCII without controls, whitespace, DQUOTE, comma, semicolon and backslash.
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
// RFC 6265 4.1.1: path-value is any CHAR except CTLs or ";".
const PATH_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;
// A host name: letters, digits, hyphens and dots, an optional leading dot (which 6265 ignores).
const DOMAIN_VALUE = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export type SameSite = "Strict" | "Lax" | "None";

export interface CookieOptions {
  /** Seconds until the cookie expires; 0 or less deletes it. Without it or `expires`, it lasts the browser session. */
  maxAge?: number;
  expires?: Date;
  /** Default "/": the whole site, which is what a PHP user expects from setcookie(). */
  path?: string;
  /** Default none: this host only, not its subdomains. */
  domain?: string;
  /** Only sent over HTTPS. Default false; required by SameSite=None, Partitioned and the __Secure-/__Host- prefixes. */
  secure?: boolean;
  /** Hidden from JavaScript in the page. Default true. */
  httpOnly?: boolean;
  /** Default "Lax": not sent on cross-site subrequests and POSTs, the CSRF protection browsers apply by default. */
  sameSite?: SameSite;
  /** CHIPS: a third-party cookie kept per top-level site. Needs `secure`. */
  partitioned?: boolean;
  /** The value is sent as given, not percent-encoded, and must be cookie-octets only (PHP's setrawcookie). */
  raw?: boolean;
}

/** The cookies a request carries: name to value, first one wins, read-only. */
export class RequestCookies implements ReadonlyMap<string, string> {
  readonly #map: Map<string, string>;

  constructor(map: Map<string, string>) {
    this.#map = map;
  }

  get size(): number {
    return this.#map.size;
  }
  get(name: string): string | undefined {
    return this.#map.get(name);
  }
  has(name: string): boolean {
    return this.#map.has(name);
  }
  forEach(callback: (value: string, key: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    this.#map.forEach((value, key) => callback.call(thisArg, value, key, this));
  }
  entries(): MapIterator<[string, string]> {
    return this.#map.entries();
  }
  keys(): MapIterator<string> {
    return this.#map.keys();
  }
  values(): MapIterator<string> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#map.entries();
  }
  /** A plain object, as PHP's $_COOKIE. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.#map);
  }
}

/** Percent-decoding that never throws: a malformed sequence is kept as sent. */
function decode(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The Cookie header (HTTP_COOKIE) as a map. Values are percent-decoded, as PHP's $_COOKIE is;
 * pairs without "=" are skipped; of two cookies with one name (two paths), the first is kept,
 * which browsers send for the more specific path (RFC 6265 5.4 step 2).
 */
export function parseCookieHeader(header: string | undefined): RequestCookies {
  const map = new Map<string, string>();
  if (header) {
    for (const pair of header.split(";")) {
      const eq = pair.indexOf("=");
      if (eq === -1) continue;
      const name = pair.slice(0, eq).trim();
      if (name === "" || map.has(name)) continue;
      let value = pair.slice(eq + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      map.set(name, decode(value));
    }
  }
  return new RequestCookies(map);
}

/** Throws CookieInvalidError unless `name` is a token a browser will store. */
function checkCookieName(name: string): void {
  if (typeof name !== "string" || name === "") throw new CookieInvalidError(String(name), "the name is empty");
  if (!TOKEN.test(name)) {
    throw new CookieInvalidError(name, "the name may hold only letters, digits and !#$%&'*+-.^_`|~ (no spaces, =, ;, quotes or non-ASCII)");
  }
}

/** The value as it goes on the wire: percent-encoded unless raw. */
function encodeValue(name: string, value: string, raw: boolean | undefined): string {
  if (typeof value !== "string") throw new CookieInvalidError(name, `the value must be a string, not ${typeof value}`);
  if (raw) {
    if (!COOKIE_OCTETS.test(value)) {
      throw new CookieInvalidError(name, "a raw value may not hold spaces, controls, quotes, commas, semicolons, backslashes or non-ASCII");
    }
    return value;
  }
  try {
    return encodeURIComponent(value);
  } catch {
    throw new CookieInvalidError(name, "the value is not well-formed Unicode (a lone surrogate)");
  }
}

/** The Set-Cookie header value for one cookie, with secure defaults; throws CookieInvalidError naming the cookie. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  checkCookieName(name);
  const wire = encodeValue(name, value, options.raw);
  if (new TextEncoder().encode(name + wire).length > MAX_COOKIE_NAME_VALUE_BYTES) {
    throw new CookieInvalidError(
      name,
      `name and value pass ${MAX_COOKIE_NAME_VALUE_BYTES} bytes, which browsers drop; keep large data server-side (a session)`,
    );
  }
  const path = options.path ?? "/";
  const httpOnly = options.httpOnly ?? true;
  const sameSite = options.sameSite ?? "Lax";
  const secure = options.secure ?? false;
  let out = `${name}=${wire}`;

  if (options.maxAge !== undefined) {
    if (!Number.isInteger(options.maxAge))
      throw new CookieInvalidError(name, `maxAge must be a whole number of seconds, not ${options.maxAge}`);
    out += `; Max-Age=${Math.min(options.maxAge, MAX_COOKIE_AGE_SECONDS)}`;
  }
  if (options.expires !== undefined) {
    if (!(options.expires instanceof Date) || Number.isNaN(options.expires.getTime())) {
      throw new CookieInvalidError(name, "expires must be a valid Date");
    }
    out += `; Expires=${options.expires.toUTCString()}`;
  }
  if (options.domain !== undefined) {
    if (!DOMAIN_VALUE.test(options.domain))
      throw new CookieInvalidError(name, `domain ${JSON.stringify(options.domain)} is not a host name`);
    out += `; Domain=${options.domain}`;
  }
  if (!PATH_VALUE.test(path) || !path.startsWith("/")) {
    throw new CookieInvalidError(name, `path ${JSON.stringify(path)} must start with / and hold no controls or ;`);
  }
  out += `; Path=${path}`;
  if (!["Strict", "Lax", "None"].includes(sameSite))
    throw new CookieInvalidError(name, `sameSite must be "Strict", "Lax" or "None", not ${JSON.stringify(sameSite)}`);

  // Browsers refuse these combinations silently; failing here tells the script why its cookie is missing.
  if (sameSite === "None" && !secure)
    throw new CookieInvalidError(name, 'sameSite "None" needs secure: true (browsers reject it otherwise)');
  if (options.partitioned && !secure) throw new CookieInvalidError(name, "partitioned needs secure: true");
  if (name.startsWith("__Secure-") && !secure) throw new CookieInvalidError(name, "a __Secure- name needs secure: true");
  if (name.startsWith("__Host-") && (!secure || path !== "/" || options.domain !== undefined)) {
    throw new CookieInvalidError(name, 'a __Host- name needs secure: true, path "/" and no domain');
  }
  if (secure) out += "; Secure";
  if (httpOnly) out += "; HttpOnly";
  out += `; SameSite=${sameSite}`;
  if (options.partitioned) out += "; Partitioned";
  return out;
}

/**
 * The Set-Cookie value that removes a cookie: empty, expired. Path and domain must be the ones it
 * was set with, or the browser keeps it (RFC 6265 5.3 step 11: they are part of its identity).
 */
export function serializeCookieDeletion(
  name: string,
  options: Pick<CookieOptions, "path" | "domain" | "secure" | "sameSite" | "partitioned" | "httpOnly"> = {},
): string {
  return serializeCookie(name, "", { ...options, maxAge: 0, expires: new Date(0) });
}
