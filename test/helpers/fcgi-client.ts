// A minimal FastCGI client for tests that talk to a real tscgi over a raw socket.
import { connect, type Socket } from "node:net";
import { encodeParams } from "../../src/fastcgi/params.ts";
import { encodeRecord } from "../../src/fastcgi/record.ts";
import { RecordReader } from "../../src/fastcgi/reader.ts";
import { RecordType } from "../../src/fastcgi/constants.ts";
import { scaled } from "./time.ts";

export interface FcgiResponse {
  stdout: Buffer;
  stderr: Buffer;
  appStatus: number;
  protocolStatus: number;
}

export function beginRequest(id: number, role = 1, keepConn = true): Buffer {
  return encodeRecord(RecordType.BeginRequest, id, Buffer.from([0, role, keepConn ? 1 : 0, 0, 0, 0, 0, 0]));
}

/** BEGIN_REQUEST, PARAMS, the empty PARAMS, STDIN (body then the empty record). */
export function requestBytes(id: number, params: Record<string, string>, body?: Buffer, keepConn = true): Buffer {
  const parts = [beginRequest(id, 1, keepConn), encodeRecord(RecordType.Params, id, encodeParams(params))];
  parts.push(encodeRecord(RecordType.Params, id, Buffer.alloc(0)));
  if (body && body.length) parts.push(encodeRecord(RecordType.Stdin, id, body));
  parts.push(encodeRecord(RecordType.Stdin, id, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * A connection that collects records per request id and reports when the peer closes. It counts
 * END_REQUEST per id against the BEGIN_REQUESTs it sent: a second END_REQUEST for one request, or a
 * record after its END_REQUEST, is a fault that fails every wait and `close()`; a connection that
 * closes while a request has no END_REQUEST fails the waits for it at once, instead of a timeout.
 */
export class FcgiClient {
  readonly socket: Socket;
  readonly responses = new Map<number, FcgiResponse & { done: boolean }>();
  readonly management: Array<{ type: number; content: Buffer }> = [];
  readonly closed: Promise<void>;
  /** END_REQUEST records received, per request id, over the connection's life. */
  readonly endRequests = new Map<number, number>();
  /** Protocol faults seen from the server (duplicate END_REQUEST, records after it). */
  readonly faults: string[] = [];
  /** Ids with a BEGIN_REQUEST sent and no END_REQUEST received yet. */
  readonly #open = new Set<number>();
  /** Our own outgoing records, parsed to learn which requests were begun; off after garbage. */
  #outgoing: RecordReader | null;
  #isClosed = false;
  #waiters: Array<() => void> = [];

  /** A TCP port on 127.0.0.1, or the path of a Unix socket. */
  constructor(target: number | string) {
    this.socket = typeof target === "number" ? connect(target, "127.0.0.1") : connect(target);
    this.#outgoing = new RecordReader((type, id) => {
      if (type === RecordType.BeginRequest && id !== 0) this.#open.add(id);
    });
    const reader = new RecordReader((type, id, content) => {
      if (id === 0) this.management.push({ type, content: Buffer.from(content) });
      else this.#record(type, id, content);
      this.#wake();
    });
    this.socket.on("data", (chunk) => reader.push(chunk));
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.socket.once("close", () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  #record(type: number, id: number, content: Buffer): void {
    const tracked = this.#outgoing !== null;
    if (tracked && !this.#open.has(id)) {
      this.faults.push(`record type ${type} for request ${id}, which has no BEGIN_REQUEST open (after its END_REQUEST?)`);
    }
    let r = this.responses.get(id);
    if (!r)
      this.responses.set(id, (r = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), appStatus: -1, protocolStatus: -1, done: false }));
    if (type === RecordType.Stdout) r.stdout = Buffer.concat([r.stdout, content]);
    else if (type === RecordType.Stderr) r.stderr = Buffer.concat([r.stderr, content]);
    else if (type === RecordType.EndRequest) {
      const count = (this.endRequests.get(id) ?? 0) + 1;
      this.endRequests.set(id, count);
      if (!tracked && r.done) this.faults.push(`END_REQUEST number ${count} for request ${id}`);
      this.#open.delete(id);
      r.appStatus = content.readUInt32BE(0);
      r.protocolStatus = content[4]!;
      r.done = true;
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  send(bytes: Buffer): void {
    if (this.#outgoing !== null) {
      try {
        this.#outgoing.push(bytes);
      } catch {
        // Deliberate garbage: from here on, requests are told apart by END_REQUEST alone.
        this.#outgoing = null;
      }
    }
    this.socket.write(bytes);
  }

  /**
   * Resolves when the predicate holds, checked after every record. Rejects on a protocol fault,
   * when the connection closes first, or past a generous bound (scaled by TEST_TIME_FACTOR).
   */
  until(predicate: () => boolean, ms = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`timed out after ${scaled(ms)} ms waiting for FastCGI records`), scaled(ms));
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(why));
      };
      const check = () => {
        if (this.faults.length > 0) fail(`FastCGI protocol fault: ${this.faults.join("; ")}`);
        else if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else if (this.#isClosed)
          fail(`the connection closed first; requests without END_REQUEST: ${[...this.#open].join(", ") || "none"}`);
        else this.#waiters.push(check);
      };
      check();
    });
  }

  async request(id: number, params: Record<string, string>, body?: Buffer): Promise<FcgiResponse> {
    this.send(requestBytes(id, params, body));
    await this.until(() => this.responses.get(id)?.done === true);
    const r = this.responses.get(id)!;
    this.responses.delete(id);
    return r;
  }

  /** Closes the connection; throws if the server sent a duplicate END_REQUEST or a record after one. */
  close(): void {
    this.socket.destroy();
    if (this.faults.length > 0) throw new Error(`FastCGI protocol fault: ${this.faults.join("; ")}`);
  }
}

/** Splits a CGI response into status, headers and body. */
export function parseCgi(stdout: Buffer): { status: number; headers: Record<string, string>; body: string } {
  const text = stdout.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split("\r\n")) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return {
    status: Number(headers.status?.split(" ")[0]),
    headers,
    body: stdout.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1")).toString(),
  };
}
