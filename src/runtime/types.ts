// The script API: what a script in cgi-bin/ receives and may return.

/** RFC 3875 meta-variables as the web server sent them (after script resolution), read-only. */
export type CgiEnv = Readonly<Record<string, string>>;

/** What a classic-style script may return. `undefined` means "I streamed, or there is nothing to say" (204). */
export type ScriptResult = Response | string | Uint8Array | ArrayBuffer | Record<string, unknown> | unknown[] | null | undefined | void;

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
}

/** A classic-style script: `export default async function (cgi: Cgi) { ... }`. */
export type CgiHandler = (cgi: Cgi) => ScriptResult | Promise<ScriptResult>;

/** A fetch-style script, the WinterCG shape: `export default { fetch(request, env) { ... } }`. */
export interface FetchHandler {
  fetch(request: Request, env: CgiEnv, cgi: Cgi): Response | Promise<Response>;
}
