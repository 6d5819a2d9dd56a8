// A minimal FastCGI client for tests that talk to a real tscgi over a raw socket.
import { connect, type Socket } from "node:net";
import { encodeParams, encodeRecord, RecordReader, RecordType } from "../../src/fastcgi/index.ts";

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

/** A connection that collects records per request id and reports when the peer closes. */
export class FcgiClient {
  readonly socket: Socket;
  readonly responses = new Map<number, FcgiResponse & { done: boolean }>();
  readonly management: Array<{ type: number; content: Buffer }> = [];
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    const reader = new RecordReader((type, id, content) => {
      if (id === 0) this.management.push({ type, content: Buffer.from(content) });
      else {
        let r = this.responses.get(id);
        if (!r)
          this.responses.set(
            id,
            (r = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), appStatus: -1, protocolStatus: -1, done: false }),
          );
        if (type === RecordType.Stdout) r.stdout = Buffer.concat([r.stdout, content]);
        else if (type === RecordType.Stderr) r.stderr = Buffer.concat([r.stderr, content]);
        else if (type === RecordType.EndRequest) {
          r.appStatus = content.readUInt32BE(0);
          r.protocolStatus = content[4]!;
          r.done = true;
        }
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.socket.on("data", (chunk) => reader.push(chunk));
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) => this.socket.once("close", () => resolve()));
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when the predicate holds, checked after every record; rejects after ms. */
  until(predicate: () => boolean, ms = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for FastCGI records")), ms);
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
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

  close(): void {
    this.socket.destroy();
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
