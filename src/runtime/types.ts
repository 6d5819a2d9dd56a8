// The script API: what a script in cgi-bin/ receives and may return.
import type { CookieOptions, RequestCookies } from "./cookies.ts";
import type { Form } from "./form.ts";
import type { Html } from "./html.ts";
import type { Session, SessionShape } from "./session.ts";
import type { SessionData } from "./session-store.ts";

/** RFC 3875 meta-variables as the web server sent them (after script resolution), read-only. */
export type CgiEnv = Readonly<Record<string, string>>;

/** What a classic-style script may return. `undefined` means "I streamed, or there is nothing to say" (204). */
export type ScriptResult = Response | string | Uint8Array | ArrayBuffer | Record<string, unknown> | unknown[] | null | undefined | void;

/** cgi.setCookie()'s options: every Set-Cookie attribute, and `signed` to sign the value with cookie_secret. */
export interface SetCookieOptions extends CookieOptions {
  /** Signed with cookie_secret (HMAC-SHA256): read it back with `await cgi.signedCookie(name)`, which refuses a tampered one. */
  signed?: boolean;
}

/** A cookie is deleted on the path and domain it was set with (they are part of its identity). */
export type DeleteCookieOptions = Pick<CookieOptions, "path" | "domain" | "secure" | "sameSite" | "partitioned" | "httpOnly">;

/** The statuses of a redirect (RFC 9110 15.4): 303 after a POST, 307/308 to repeat the method. */
export type RedirectStatus = 300 | 301 | 302 | 303 | 307 | 308;

/** The CGI context handed to a classic-style script. */
export interface Cgi {
  /** The meta-variables: REQUEST_METHOD, QUERY_STRING, SCRIPT_NAME, PATH_INFO, HTTP_* ... (frozen). */
  readonly env: CgiEnv;
  /** The same request as a standard `Request`; its body streams from the web server. Built on first access. */
  readonly request: Request;
  /** QUERY_STRING parsed. */
  readonly query: URLSearchParams;
  /** Values of the `[param]` segments of the script's path: `users/[id].ts` at /users/42 gives `{ id: "42" }`. */
  readonly params: Readonly<Record<string, string>>;
  /** Fires when the web server aborts the request, the client goes away, or the request times out. */
  readonly signal: AbortSignal;
  /** Sets the status of a streamed response (before the first write). Returns the context for chaining. */
  status(code: number): Cgi;
  /** Appends a response header (before the first write). Returns the context for chaining. */
  header(name: string, value: string): Cgi;
  /** Streams a chunk of the body; headers go out with the first write. Resolves when more may be written. */
  write(chunk: string | Uint8Array): Promise<void>;

  /**
   * The submitted form, PHP's $_POST and $_FILES: urlencoded or multipart, files streamed to
   * upload_tmp_dir and deleted when the request ends unless moved. The same Form on every call.
   */
  form(): Promise<Form>;
  /** The body parsed as JSON (400 when it is not JSON). The same value on every call. */
  json<T = unknown>(): Promise<T>;
  /** The body as UTF-8 text, PHP's php://input. The same text on every call. */
  text(): Promise<string>;

  /** The request's cookies, PHP's $_COOKIE: read-only, values percent-decoded. */
  readonly cookies: RequestCookies;
  /** A cookie set with `{ signed: true }`, or undefined when it is missing, unsigned or tampered with. */
  signedCookie(name: string): Promise<string | undefined>;
  /** PHP's setcookie(): HttpOnly, SameSite=Lax and Path=/ unless the options say otherwise (before the first write). */
  setCookie(name: string, value: string, options?: SetCookieOptions): Cgi;
  /** Removes a cookie from the browser; give the path and domain it was set with. */
  deleteCookie(name: string, options?: DeleteCookieOptions): Cgi;

  /**
   * PHP's session_start() and $_SESSION: the visitor's session, waiting for any other request of
   * it to finish; saved (if changed) when the response head goes out. The same Session on every call.
   */
  session<T extends SessionShape<T> = SessionData>(): Promise<Session<T>>;

  /**
   * The template `name` of the templates directory (Nunjucks, Jinja2's language) rendered with
   * `data`, every value escaped unless marked `| safe`: `return cgi.render("page.njk", { rows })`
   * answers text/html, and the Html can go inside html`` or JSX.
   */
  render(name: string, data?: Record<string, unknown>): Html;

  /** PHP's header("Location: ..."): sets the status (302 by default) and Location; a relative URL is sent as it is. */
  redirect(url: string | URL, status?: RedirectStatus): void;
}

/** A classic-style script: `export default async function (cgi: Cgi) { ... }`. */
export type CgiHandler = (cgi: Cgi) => ScriptResult | Promise<ScriptResult>;

/** A fetch-style script, the WinterCG shape: `export default { fetch(request, env) { ... } }`. */
export interface FetchHandler {
  fetch(request: Request, env: CgiEnv, cgi: Cgi): Response | Promise<Response>;
}

/** What a custom error page (`_404.ts`, `_500.ts` in the root) gets besides `cgi`. */
export interface ErrorPageInfo {
  /** The status being answered (404 or 500); already set on `cgi`. */
  status: number;
  /** An HttpError's message; otherwise the status's reason phrase (never internal details). */
  message: string;
  /** For a 500: the id the error log line carries, to show the visitor; null for a 404. */
  requestId: string | null;
}

/**
 * A custom error page, in either style with ErrorPageInfo after the usual arguments:
 * `export default function (cgi: Cgi, error: ErrorPageInfo) { ... }`, or `{ fetch(request, env, cgi, error) }`.
 * A plain CgiHandler or FetchHandler is one too (it ignores `error`).
 */
export type ErrorPageHandler =
  | ((cgi: Cgi, error: ErrorPageInfo) => ScriptResult | Promise<ScriptResult>)
  | { fetch(request: Request, env: CgiEnv, cgi: Cgi, error: ErrorPageInfo): Response | Promise<Response> };
