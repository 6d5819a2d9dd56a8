// A small FastCGI client (the web server's side of the protocol) for `tscgi ping` and
// `tscgi status`: one connection per call, one request or one FCGI_GET_VALUES, then close.

import { connect, isIPv6, type Socket } from "node:net";
import { FCGI_NULL_REQUEST_ID, ProtocolStatus, RecordType, Role } from "../fastcgi/constants.ts";
import { ParamsDecoder, encodeParams } from "../fastcgi/params.ts";
import { RecordReader } from "../fastcgi/reader.ts";
import { encodeRecord } from "../fastcgi/record.ts";
import { encodeStream } from "../fastcgi/writer.ts";
import { ClientConnectError, ClientProtocolError, ClientTimeoutError } from "./errors.ts";

export type Target = { host: string; port: number } | { path: string };

/** The one request id this client uses; requests are never multiplexed. */
const REQUEST_ID = 1;

/**
 * Where to connect for a `listen` value: "HOST:PORT", "[IPv6]:PORT", a bare "PORT", or a Unix
 * socket path. A server bound to every address (0.0.0.0, [::], *) is reached on loopback.
 */
export function clientTarget(listen: string): Target {
  const value = listen.trim();
  if (value.includes("/")) return { path: value };
  if (/^\d+$/.test(value)) return { host: "127.0.0.1", port: Number(value) };
  const colon = value.lastIndexOf(":");
  if (colon === -1) throw new Error(`"${listen}" is not a listen address: expected HOST:PORT, [IPv6]:PORT or a socket path`);
  let host = value.slice(0, colon);
  const port = Number(value.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${listen}" has no valid port (1-65535)`);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "" || host === "*" || host === "0.0.0.0") host = "127.0.0.1";
  else if (isIPv6(host) && /^[0:]+$/.test(host)) host = "::1";
  return { host, port };
}

/** "127.0.0.1:9000", "[::1]:9000" or "unix:/run/tscgi.sock", for messages. */
export function describeTarget(target: Target): string {
  if ("path" in target) return `unix:${target.path}`;
  return target.host.includes(":") ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** What the application sent for one request. */
export interface FcgiReply {
  stdout: Buffer;
  stderr: Buffer;
  appStatus: number;
}

export interface ClientOptions {
  /** Milliseconds for the whole exchange, connecting included. */
  timeout: number;
}

export class FastCgiClient {
  readonly target: Target;
  /** The address as messages name it. */
  readonly address: string;
  readonly #timeout: number;

  constructor(listen: string, options: ClientOptions) {
    this.target = clientTarget(listen);
    this.address = describeTarget(this.target);
    this.#timeout = options.timeout;
  }

  /** Sends one Responder request (params, then `stdin`) and collects the reply until END_REQUEST. */
  request(params: Record<string, string>, stdin: Uint8Array = Buffer.alloc(0)): Promise<FcgiReply> {
    // Flags 0: without FCGI_KEEP_CONN the application closes the connection after answering.
    const begin = Buffer.from([0, Role.Responder, 0, 0, 0, 0, 0, 0]);
    const bytes = Buffer.concat([
      encodeRecord(RecordType.BeginRequest, REQUEST_ID, begin),
      encodeStream(RecordType.Params, REQUEST_ID, encodeParams(params)),
      encodeRecord(RecordType.Params, REQUEST_ID),
      encodeStream(RecordType.Stdin, REQUEST_ID, stdin),
      encodeRecord(RecordType.Stdin, REQUEST_ID),
    ]);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    return this.#exchange(bytes, (type, requestId, content) => {
      if (requestId !== REQUEST_ID) return undefined;
      if (type === RecordType.Stdout) stdout.push(content);
      else if (type === RecordType.Stderr) stderr.push(content);
      else if (type === RecordType.EndRequest) {
        if (content.length < 8) throw new ClientProtocolError(this.address, `sent an END_REQUEST of ${content.length} bytes, expected 8`);
        const protocolStatus = content[4];
        if (protocolStatus !== ProtocolStatus.RequestComplete) {
          throw new ClientProtocolError(this.address, `refused the request: ${protocolStatusName(protocolStatus)}`);
        }
        return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), appStatus: content.readUInt32BE(0) };
      }
      return undefined;
    });
  }

  /** FCGI_GET_VALUES (section 4.1): the values the application knows of `names`. */
  getValues(names: readonly string[]): Promise<Record<string, string>> {
    const query = encodeParams(names.map((name) => [name, ""] as const));
    const bytes = encodeRecord(RecordType.GetValues, FCGI_NULL_REQUEST_ID, query);
    return this.#exchange(bytes, (type, requestId, content) => {
      if (requestId !== FCGI_NULL_REQUEST_ID) return undefined;
      if (type === RecordType.UnknownType) throw new ClientProtocolError(this.address, "does not support FCGI_GET_VALUES");
      if (type !== RecordType.GetValuesResult) return undefined;
      const decoder = new ParamsDecoder({ maxBytes: 0xffff, maxPairs: 0xffff });
      decoder.push(content);
      return { ...decoder.end("the GET_VALUES_RESULT") };
    });
  }

  /**
   * Connects, writes `bytes`, and feeds each record to `handle` until it returns a value.
   * Every way out (answer, error, close, timeout) destroys the socket exactly once.
   */
  #exchange<T>(bytes: Buffer, handle: (type: number, requestId: number, content: Buffer) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const socket: Socket = "path" in this.target ? connect(this.target.path) : connect(this.target.port, this.target.host);
      let connected = false;
      let settled = false;
      const finish = (error: Error | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (error !== null) reject(error);
        else resolve(value as T);
      };
      const timer = setTimeout(() => finish(new ClientTimeoutError(this.address, this.#timeout)), this.#timeout);
      const reader = new RecordReader((type, requestId, content) => {
        const value = handle(type, requestId, content);
        if (value !== undefined) {
          reader.stop();
          finish(null, value);
        }
      });
      socket.setNoDelay(true);
      socket.once("connect", () => {
        connected = true;
        socket.write(bytes);
      });
      socket.on("data", (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch (error) {
          finish(
            error instanceof ClientProtocolError
              ? error
              : new ClientProtocolError(this.address, `sent a bad answer: ${(error as Error).message}`),
          );
        }
      });
      socket.on("error", (error: NodeJS.ErrnoException) => {
        finish(
          connected
            ? new ClientProtocolError(this.address, `broke the connection: ${error.message}`)
            : new ClientConnectError(this.address, error),
        );
      });
      socket.on("close", () => finish(new ClientProtocolError(this.address, "closed the connection before answering")));
    });
  }
}

function protocolStatusName(status: number): string {
  switch (status) {
    case ProtocolStatus.CantMpxConn:
      return "FCGI_CANT_MPX_CONN";
    case ProtocolStatus.Overloaded:
      return "FCGI_OVERLOADED (the application is out of capacity)";
    case ProtocolStatus.UnknownRole:
      return "FCGI_UNKNOWN_ROLE";
    default:
      return `protocolStatus ${status}`;
  }
}

/** A CGI response (RFC 3875 section 6) split into status, headers and body. */
export interface CgiResponse {
  status: number;
  /** The reason phrase of the Status header, "" when there was none. */
  statusText: string;
  /** In order, names as sent. */
  headers: [string, string][];
  body: Buffer;
  /** The first header of that name, case-insensitive. */
  header(name: string): string | undefined;
}

/**
 * Splits STDOUT into the CGI head and body. RFC 3875 6.3.3: no Status header means 200, except
 * that a Location header alone is a redirect (6.2.3), which web servers answer 302.
 */
export function parseCgiResponse(stdout: Buffer, address = "the server"): CgiResponse {
  const crlf = stdout.indexOf("\r\n\r\n");
  const lf = stdout.indexOf("\n\n");
  let headEnd: number;
  let bodyStart: number;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) {
    headEnd = crlf;
    bodyStart = crlf + 4;
  } else if (lf !== -1) {
    headEnd = lf;
    bodyStart = lf + 2;
  } else {
    throw new ClientProtocolError(address, "sent a response without a CGI header block (no blank line after the headers)");
  }
  const headers: [string, string][] = [];
  const head = headEnd === 0 ? [] : stdout.subarray(0, headEnd).toString("latin1").split(/\r?\n/);
  for (const line of head) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ClientProtocolError(address, `sent a malformed CGI header line: ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const header = (name: string): string | undefined => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
  let status = 200;
  let statusText = "";
  const statusHeader = header("status");
  if (statusHeader !== undefined) {
    const match = /^(\d{3})(?:\s+(.*))?$/.exec(statusHeader);
    if (match === null) throw new ClientProtocolError(address, `sent a malformed Status header: ${JSON.stringify(statusHeader)}`);
    status = Number(match[1]);
    statusText = match[2] ?? "";
  } else if (header("location") !== undefined) {
    status = 302;
  }
  return { status, statusText, headers, body: stdout.subarray(bodyStart), header };
}
