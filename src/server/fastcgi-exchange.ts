// Adapts one FastCGI request to the Exchange dispatch works with: the response as CGI output on STDOUT.
import { SENT, type Exchange, type ResponseOutcome, type StreamOutcome } from "../cgi/exchange.ts";
import { formatCgiHead, type HeaderList } from "../cgi/head.ts";
import type { FcgiRequest } from "../fastcgi/request.ts";
import { ProtocolStatus, Role } from "../fastcgi/constants.ts";
import { Wire, type InflightTable } from "./inflight-table.ts";

export class FastCgiExchange implements Exchange {
  readonly #req: FcgiRequest;
  readonly #table: InflightTable | null;
  readonly slot: number;
  readonly #peer: { readonly remoteAddress?: string | undefined } | undefined;

  /**
   * With a table, the request is watched: `fd` is its connection's, for a watchdog's last answer.
   * `peer` is the connection (its remote address is read only when asked: a getpeername() per connection otherwise).
   */
  constructor(request: FcgiRequest, table: InflightTable | null = null, fd = -1, peer?: { readonly remoteAddress?: string | undefined }) {
    this.#req = request;
    this.#peer = peer;
    this.#table = table;
    const p = request.params;
    this.slot = table === null || fd < 0 ? -1 : table.begin(fd, request.id, Wire.FastCgi, p.REQUEST_METHOD ?? "", p.REQUEST_URI ?? "");
  }

  /** The connection's remote address (undefined on a Unix socket). */
  get peer(): string | undefined {
    return this.#peer?.remoteAddress;
  }

  get params(): Record<string, string> {
    return this.#req.params;
  }

  get authorizer(): boolean {
    return this.#req.role === Role.Authorizer;
  }

  readBody(): Promise<Uint8Array | null> {
    return this.#req.readStdin();
  }

  releaseBody(chunk: Uint8Array): void {
    this.#req.releaseStdin(chunk);
  }

  lendBody(): void {
    this.#req.lendStdin();
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    return this.#req.onAbort(listener);
  }

  get aborted(): boolean {
    return this.#req.aborted;
  }

  respond(status: number, headers: HeaderList, body: Uint8Array | null, outcome: ResponseOutcome): Promise<void> {
    const out = this.#headWith(status, headers, body);
    this.#req.end(outcome === "failed" ? 1 : 0, out, outcome === "overloaded" ? ProtocolStatus.Overloaded : ProtocolStatus.RequestComplete);
    return SENT;
  }

  head(status: number, headers: HeaderList, firstChunk: Uint8Array | null): Promise<void> {
    return this.#req.writeStdout(this.#headWith(status, headers, firstChunk));
  }

  /** Header block and first chunk in one buffer: a small response leaves in a single write. */
  #headWith(status: number, headers: HeaderList, chunk: Uint8Array | null): Buffer {
    if (this.slot >= 0) this.#table!.responded(this.slot);
    const head = formatCgiHead(status, headers);
    const headLength = head.length; // latin1: one byte per character
    const out = Buffer.allocUnsafe(headLength + (chunk ? chunk.byteLength : 0));
    out.write(head, 0, "latin1");
    if (chunk) out.set(chunk, headLength);
    return out;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#req.writeStdout(chunk);
  }

  end(outcome: StreamOutcome): void {
    this.#req.end(outcome === "failed" ? 1 : 0);
  }

  writeStderr(chunk: Uint8Array): void {
    this.#req.writeStderr(chunk);
  }
}
