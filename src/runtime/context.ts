// The Cgi context a classic-style script receives: env, lazy Request, query, signal, streaming
// output, and the toolkit: body readers, cookies, sessions, redirects.
import type { Exchange } from "../cgi/exchange.ts";
import { checkHeader, checkStatus, hasHeader, type HeaderList } from "../cgi/head.ts";
import { buildRequest } from "../cgi/request.ts";
import { defaultStatus } from "../cgi/result.ts";
import { ClientGoneError } from "../cgi/errors.ts";
import { RequestBody } from "./body-readers.ts";
import { parseCookieHeader, serializeCookie, serializeCookieDeletion, type RequestCookies } from "./cookies.ts";
import { CookieSecretMissingError, HeadersSentError, RedirectInvalidError } from "./errors.ts";
import type { Form } from "./form.ts";
import { Html } from "./html.ts";
import { openSession, sessionCookieHeader, type OpenedSession, type Session, type SessionShape } from "./session.ts";
import type { SessionData } from "./session-store.ts";
import { checkTemplateName } from "./templates.ts";
import type { Toolkit } from "./toolkit.ts";
import type { Cgi, CgiEnv, DeleteCookieOptions, RedirectStatus, SetCookieOptions } from "./types.ts";

const DONE: Promise<void> = Promise.resolve();
const DEFAULT_TYPE = "text/html; charset=utf-8";
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308]);
// RFC 3986 2.2 and 2.3 plus "%": a URL already encoded. Anything else (spaces, non-ASCII) is percent-encoded.
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
/** A signature's length in a signed cookie's value: "." and 43 base64url characters of HMAC-SHA256. */
const SIGNATURE_PLACEHOLDER = "." + "A".repeat(43);

/** True when the request came over HTTPS, so the session cookie is marked Secure. */
function isHttps(env: CgiEnv): boolean {
  const https = env.HTTPS;
  return (https !== undefined && https !== "" && https.toLowerCase() !== "off") || env.REQUEST_SCHEME === "https";
}
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

export class CgiContext implements Cgi {
  readonly #env: CgiEnv;
  #envFrozen = false;
  /** Set by dispatch from the resolved path's `[param]` segments. */
  params: Readonly<Record<string, string>> = NO_PARAMS;
  readonly #exchange: Exchange;
  readonly #maxBodySize: number;
  readonly #isHead: boolean;
  readonly #toolkit: Toolkit | undefined;
  #request: Request | undefined;
  #query: URLSearchParams | undefined;
  #abort: AbortController | undefined;
  /** Removes the forwarding of the exchange's abort to #abort (set while cgi.signal listens). */
  #unforward: (() => void) | undefined;
  #status = 0;
  #headers: HeaderList = [];
  #started = false;
  #closed = false;
  #body: RequestBody | undefined;
  #cookies: RequestCookies | undefined;
  /** Set-Cookie values still being signed (Web Crypto is asynchronous); they join the headers before the head goes out. */
  #signing: Array<Promise<string>> | undefined;
  #session: Promise<OpenedSession<SessionData>> | undefined;
  /** Set once signed cookies and the session joined the headers: it happens once per response. */
  #settled = false;
  /** The first write's head while signed cookies and the session are settled: later writes wait for it. */
  #heading: Promise<void> | undefined;

  constructor(exchange: Exchange, env: CgiEnv, maxBodySize: number, toolkit?: Toolkit) {
    this.#exchange = exchange;
    this.#env = env;
    this.#maxBodySize = maxBodySize;
    this.#isHead = env.REQUEST_METHOD === "HEAD";
    this.#toolkit = toolkit;
  }

  /** Frozen on first read: freezing two dozen variables was 2 % of a hello's CPU, and most scripts never look. */
  get env(): CgiEnv {
    if (!this.#envFrozen) {
      Object.freeze(this.#env);
      this.#envFrozen = true;
    }
    return this.#env;
  }

  get request(): Request {
    return (this.#request ??= buildRequest(
      this.#env,
      () => this.#requestBody().stream(),
      () => this.signal,
      () => this.#requestBody().requestBytes(),
    ));
  }

  #requestBody(): RequestBody {
    if (this.#body !== undefined) return this.#body;
    const exchange = this.#exchange;
    const release = exchange.releaseBody === undefined ? undefined : (chunk: Uint8Array) => exchange.releaseBody?.(chunk);
    const lend = exchange.lendBody === undefined ? undefined : () => exchange.lendBody?.();
    const onAbort = (listener: (reason: unknown) => void) => exchange.onAbort(listener);
    return (this.#body = new RequestBody(() => exchange.readBody(), this.#env, this.#maxBodySize, onAbort, release, lend));
  }

  #tools(what: string): Toolkit {
    if (this.#toolkit === undefined) throw new Error(`${what} is not available in a context built without the server's stores`);
    return this.#toolkit;
  }

  form(): Promise<Form> {
    const toolkit = this.#tools("cgi.form()");
    return this.#requestBody().form(toolkit.forms, toolkit.formLimits);
  }

  json<T = unknown>(): Promise<T> {
    return this.#requestBody().json() as Promise<T>;
  }

  text(): Promise<string> {
    return this.#requestBody().text();
  }

  get cookies(): RequestCookies {
    return (this.#cookies ??= parseCookieHeader(this.#env.HTTP_COOKIE));
  }

  signedCookie(name: string): Promise<string | undefined> {
    return this.#tools("cgi.signedCookie()").signer.verify(name, this.cookies.get(name));
  }

  setCookie(name: string, value: string, options: SetCookieOptions = {}): this {
    if (this.#started) throw new HeadersSentError(`cookie ${name}`);
    if (options.signed !== true) {
      this.#headers.push("Set-Cookie", serializeCookie(name, value, options));
      return this;
    }
    const signer = this.#tools("a signed cookie").signer;
    if (!signer.canSign) throw new CookieSecretMissingError(name);
    // Checked now, with a signature's worth of placeholder, so a bad cookie throws at this line.
    serializeCookie(name, typeof value === "string" ? value + SIGNATURE_PLACEHOLDER : value, options);
    (this.#signing ??= []).push(signer.sign(name, value).then((signed) => serializeCookie(name, signed, options)));
    return this;
  }

  deleteCookie(name: string, options: DeleteCookieOptions = {}): this {
    if (this.#started) throw new HeadersSentError(`cookie ${name}`);
    this.#headers.push("Set-Cookie", serializeCookieDeletion(name, options));
    return this;
  }

  session<T extends SessionShape<T> = SessionData>(): Promise<Session<T>> {
    if (this.#session === undefined) {
      if (this.#started)
        return Promise.reject(new HeadersSentError("the session cookie (call await cgi.session() before the first write)"));
      const toolkit = this.#tools("cgi.session()");
      this.#session = openSession(toolkit.sessions, this.cookies.get(toolkit.sessionCookie), toolkit.sessionRules, {
        onGcError: (error) => toolkit.onSessionGcError(error),
      });
    }
    return this.#session.then((opened) => opened.session as unknown as Session<T>);
  }

  render(name: string, data: Record<string, unknown> = {}): Html {
    return new Html(this.#tools("cgi.render()").templates.render(checkTemplateName(name), data));
  }

  redirect(url: string | URL, status: RedirectStatus = 302): void {
    if (!REDIRECT_STATUSES.has(status))
      throw new RedirectInvalidError(`status must be 300, 301, 302, 303, 307 or 308, not ${String(status)}`);
    let location = url instanceof URL ? url.href : url;
    if (typeof location !== "string" || location === "")
      throw new RedirectInvalidError(`the URL must be a non-empty string or a URL, not ${String(url)}`);
    // A Location value is a URI reference (RFC 9110 10.2.2): relative ones ("/x", "../y") are sent
    // as they are and the browser resolves them; characters a URI cannot hold are percent-encoded.
    if (!URL_CHARS.test(location)) location = encodeURI(location);
    this.status(status);
    this.header("Location", location);
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#env.QUERY_STRING ?? ""));
  }

  /**
   * A plain AbortController that the exchange's abort is forwarded to (Exchange.onAbort, which
   * builds no signal of its own). Not AbortSignal.any: in Node 20 a composite signal with a
   * listener that never fires is kept alive for good, with all its listener reaches (about 3 KB a
   * request for a listener that captures `cgi`).
   */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      const abort = (this.#abort = new AbortController());
      const off = this.#exchange.onAbort((reason) => abort.abort(reason));
      if (this.#closed) off();
      else this.#unforward = off;
    }
    return this.#abort.signal;
  }

  /** True once status and headers went out; after that only body bytes can follow. */
  get started(): boolean {
    return this.#started;
  }

  /** True once the response was finished (or given up) and further output is dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  get statusCode(): number {
    return this.#status;
  }

  get headerList(): HeaderList {
    return this.#headers;
  }

  status(code: number): this {
    if (this.#started) throw new HeadersSentError("the status");
    this.#status = checkStatus(code);
    return this;
  }

  header(name: string, value: string): this {
    if (this.#started) throw new HeadersSentError(`header ${name}`);
    value = String(value);
    checkHeader(name, value);
    this.#headers.push(name, value);
    return this;
  }

  write(chunk: string | Uint8Array): Promise<void> {
    // A loop that streams without watching cgi.signal must still end when nobody listens.
    if (this.#exchange.aborted) return Promise.reject(new ClientGoneError());
    if (this.#closed) return DONE;
    if (this.#heading !== undefined) return this.#heading.then(() => this.write(chunk));
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (!this.#started) {
      this.#started = true;
      if (!hasHeader(this.#headers, "content-type")) {
        this.#headers.push("Content-Type", DEFAULT_TYPE);
      }
      const head = () => this.#exchange.head(defaultStatus(this.#status, this.#headers, 200), this.#headers, this.#isHead ? null : bytes);
      const settling = this.beforeHead();
      if (settling === undefined) return head();
      const heading = (this.#heading = settling.then(head));
      void heading.then(
        () => (this.#heading = undefined),
        () => {},
      );
      return heading;
    }
    if (this.#isHead || bytes.byteLength === 0) return DONE;
    return this.#exchange.write(bytes);
  }

  /**
   * Before the head goes out: signed cookies join the headers, and the session is saved (if it
   * changed) with its Set-Cookie. Called by the first write, and by dispatch before a returned
   * answer or an HttpError is sent. A second call after the session was saved does nothing new.
   */
  beforeHead(): Promise<void> | undefined {
    // Nothing to wait for on most requests: no promise, so dispatch's hot path does not await one.
    return (this.#signing === undefined && this.#session === undefined) || this.#settled ? undefined : this.#settleHead();
  }

  async #settleHead(): Promise<void> {
    this.#settled = true;
    const signing = this.#signing;
    this.#signing = undefined;
    if (signing !== undefined) for (const cookie of await Promise.all(signing)) this.#headers.push("Set-Cookie", cookie);
    const session = this.#session;
    if (session === undefined) return;
    // A session that failed to open (a lock timeout) was the script's to handle when it awaited it.
    const opened = await session.catch(() => null);
    if (opened === null) return;
    // Closed first, so a change after this point throws instead of being lost.
    await opened.session.close();
    const toolkit = this.#toolkit!;
    const cookie = sessionCookieHeader(toolkit.sessionCookie, await opened.commit(), { secure: isHttps(this.#env) });
    if (cookie !== null) this.#headers.push("Set-Cookie", cookie);
  }

  /**
   * Marks the response finished: later writes from a script still running are dropped. A session
   * not saved by then is released unsaved (the request failed) and uploads not moved are deleted;
   * the promise (undefined when there is nothing to do) settles once they are.
   */
  close(): Promise<void> | undefined {
    this.#closed = true;
    this.#stopForwarding();
    if (this.#session === undefined && this.#body === undefined) return undefined;
    return this.#release();
  }

  async #release(): Promise<void> {
    const opened = await this.#session?.catch(() => null);
    await opened?.release();
    await this.#body?.cleanup();
  }

  /** Fires the script's signal, for a request that ran past its time (or whose script must stop). */
  abort(reason: unknown): void {
    this.#abort ??= new AbortController();
    this.#stopForwarding();
    this.#abort.abort(reason);
  }

  #stopForwarding(): void {
    const off = this.#unforward;
    this.#unforward = undefined;
    off?.();
  }
}
