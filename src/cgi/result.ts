// Turns what a script returned into status, headers and a body (DESIGN: "Output").
import { checkHeader, hasHeader, type HeaderList } from "./head.ts";

export interface ScriptResponse {
  status: number;
  headers: HeaderList;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
}

const HTML = "text/html; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";
const BYTES = "application/octet-stream";
const HTML_MARKUP = Symbol.for("tscgi.html");

/**
 * The status when the script set none: 302 with a Location header, as RFC 3875 6.2.3 and PHP's
 * header("Location: ...") make it, else `otherwise`.
 */
export function defaultStatus(status: number, headers: HeaderList, otherwise: number): number {
  if (status !== 0) return status;
  return hasHeader(headers, "location") ? 302 : otherwise;
}

function withBody(status: number, headers: HeaderList, type: string, body: Uint8Array): ScriptResponse {
  if (!hasHeader(headers, "content-type")) headers.push("Content-Type", type);
  headers.push("Content-Length", String(body.byteLength));
  return { status, headers, body };
}

/** An object literal or array: JSON, and never a Response. */
function isPlainData(value: unknown): boolean {
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `status` and `headers` are what the script set with cgi.status()/cgi.header(); a returned
 * Response's own status and headers come after them.
 */
export function toScriptResponse(value: unknown, status: number, headers: HeaderList): ScriptResponse {
  status = defaultStatus(status, headers, 0);
  if (typeof value === "string") return withBody(status || 200, headers, HTML, Buffer.from(value));
  if (value === undefined || value === null) return { status: status || 204, headers, body: null };
  // html`...` markup (src/runtime/html.ts), known by its Symbol.for brand: this layer sits below the runtime.
  if (typeof value === "object" && typeof (value as Record<symbol, unknown>)[HTML_MARKUP] === "string") {
    return withBody(status || 200, headers, HTML, Buffer.from((value as Record<symbol, string>)[HTML_MARKUP]));
  }
  if (value instanceof Uint8Array) return withBody(status || 200, headers, BYTES, value);
  if (value instanceof ArrayBuffer) return withBody(status || 200, headers, BYTES, new Uint8Array(value));
  // Only now the global Response: Node loads fetch's implementation on its first use (about 45 ms
  // and some MB), which a process answering with markup, bytes or JSON never needs.
  if (!isPlainData(value) && value instanceof Response) {
    for (const [name, v] of value.headers) {
      checkHeader(name, v);
      headers.push(name, v);
    }
    return { status: value.status, headers, body: value.body };
  }
  return withBody(status || 200, headers, JSON_TYPE, Buffer.from(JSON.stringify(value)));
}
