// An error a script throws on purpose to answer with a given status (404, 403, 405 ...), with
// headers (Allow, WWW-Authenticate) and an HTML or JSON body if it wants one.
import { reasonPhrase } from "../cgi/head.ts";
import { TscgiError } from "../errors.ts";
import type { Html } from "./html.ts";

export interface HttpErrorOptions {
  /** Headers of the answer, added to the ones the script set before it threw: `{ Allow: "GET, POST" }`. */
  headers?: HeadersInit;
  /**
   * The body instead of the message as plain text: html`` markup is sent as text/html, an object
   * or array as JSON. Strings are not accepted: text that was meant as HTML must go through html``.
   */
  body?: Html | Record<string, unknown> | unknown[];
  cause?: unknown;
}

export class HttpError extends TscgiError {
  readonly code = "TSCGI_E_API_HTTP";
  override readonly status: number;
  /** Name and value of each header the answer adds, in order (Set-Cookie may repeat). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Html | Record<string, unknown> | unknown[] | undefined;

  /**
   * `throw new HttpError(404, "no such user")` answers 404 with that message as the body;
   * `throw new HttpError(405, undefined, { headers: { Allow: "GET" } })` adds the header.
   */
  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be an integer 400-599, got ${status}`);
    }
    super(message ?? `${status} ${reasonPhrase(status)}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    // Headers checks each name and value (a CR or LF in one throws a TypeError here, at the throw).
    this.headers = options.headers === undefined ? [] : [...new Headers(options.headers)];
    this.body = options.body;
  }
}
