// Classic CGI on stdio (`tscgi cgi FILE`): meta-variables from the environment, body on stdin, CGI output on stdout.
import type { Readable, Writable } from "node:stream";
import type { Exchange, ResponseOutcome, StreamOutcome } from "../cgi/exchange.ts";
import { formatCgiHead, type HeaderList } from "../cgi/head.ts";

const DONE: Promise<void> = Promise.resolve();

/** Only the CGI meta-variables of an environment: a CGI server (Apache mod_cgi) passes the request this way (RFC 3875 4). */
export function cgiParamsFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (key.startsWith("HTTP_") || CGI_NAMES.has(key)) params[key] = value;
  }
  return params;
}

const CGI_NAMES = new Set([
  "AUTH_TYPE",
  "CONTENT_LENGTH",
  "CONTENT_TYPE",
  "GATEWAY_INTERFACE",
  "PATH_INFO",
  "PATH_TRANSLATED",
  "QUERY_STRING",
  "REMOTE_ADDR",
  "REMOTE_HOST",
  "REMOTE_IDENT",
  "REMOTE_USER",
  "REQUEST_METHOD",
  "SCRIPT_NAME",
  "SERVER_NAME",
  "SERVER_PORT",
  "SERVER_PROTOCOL",
  "SERVER_SOFTWARE",
  "REQUEST_URI",
  "DOCUMENT_URI",
  "DOCUMENT_ROOT",
  "HTTPS",
  "REQUEST_SCHEME",
  "REMOTE_PORT",
  "SERVER_ADDR",
  "SCRIPT_FILENAME",
]);

const NOTHING = (): void => {};

export class StdioExchange implements Exchange {
  readonly params: Record<string, string>;
  readonly #in: Readable;
  readonly #out: Writable;
  #body: AsyncIterator<Buffer> | undefined;
  #remaining: number;
  failed = false;

  constructor(params: Record<string, string>, input: Readable, output: Writable) {
    this.params = params;
    this.#in = input;
    this.#out = output;
    // RFC 3875 4.2: the script reads at most CONTENT_LENGTH bytes; without it, there is no body.
    const length = Number(params.CONTENT_LENGTH);
    this.#remaining = Number.isFinite(length) && length > 0 ? length : 0;
  }

  async readBody(): Promise<Uint8Array | null> {
    if (this.#remaining <= 0) return null;
    this.#body ??= this.#in[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const next = await this.#body.next();
    if (next.done) return null;
    const chunk = next.value.byteLength > this.#remaining ? next.value.subarray(0, this.#remaining) : next.value;
    this.#remaining -= chunk.byteLength;
    return chunk;
  }

  /** Its listener is never called: nothing tells a CGI process that its client left (the web server kills it). */
  onAbort(): () => void {
    return NOTHING;
  }

  get aborted(): boolean {
    return false;
  }

  respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome): Promise<void> {
    this.failed ||= outcome === "failed";
    return this.head(status, headers, body);
  }

  head(status: number, headers: HeaderList, firstChunk: Uint8Array | null): Promise<void> {
    this.#out.write(formatCgiHead(status, headers));
    return firstChunk ? this.write(firstChunk) : DONE;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#out.write(chunk)) return DONE;
    return new Promise((resolve) => this.#out.once("drain", resolve));
  }

  end(outcome: StreamOutcome): void {
    this.failed ||= outcome === "failed";
  }
}
