// Builds a standard Request from CGI meta-variables (RFC 3875 section 4.1) and a body stream.

const NO_BODY = new Set(["GET", "HEAD"]);

/** The request URL as the client asked for it: REQUEST_URI when the web server sent it (nginx, Apache do). */
export function requestUrl(env: Readonly<Record<string, string>>): string {
  const https = env.HTTPS !== undefined && env.HTTPS !== "" && env.HTTPS.toLowerCase() !== "off";
  const scheme = env.REQUEST_SCHEME || (https ? "https" : "http");
  let host = env.HTTP_HOST;
  if (!host) {
    const name = env.SERVER_NAME || "localhost";
    const port = env.SERVER_PORT;
    const defaultPort = scheme === "https" ? "443" : "80";
    host = port && port !== defaultPort ? `${name.includes(":") ? `[${name}]` : name}:${port}` : name;
  }
  let target = env.REQUEST_URI;
  if (!target) {
    const query = env.QUERY_STRING;
    target = (env.SCRIPT_NAME ?? "") + (env.PATH_INFO ?? "") + (query ? `?${query}` : "");
  }
  if (!target.startsWith("/")) target = `/${target}`;
  try {
    return new URL(target, `${scheme}://${host}`).href;
  } catch {
    // A Host header that is not a valid authority must not make the request unreadable.
    return new URL(target, `${scheme}://localhost`).href;
  }
}

/** HTTP_ACCEPT_LANGUAGE -> accept-language (RFC 3875 4.1.18). */
export function headersFromEnv(env: Readonly<Record<string, string>>): Headers {
  const headers = new Headers();
  for (const key in env) {
    let name: string;
    // HTTP_PROXY is never a request header (httpoxy: web servers blank it on purpose).
    if (key === "HTTP_PROXY") continue;
    if (key.startsWith("HTTP_")) name = key.slice(5).toLowerCase().replaceAll("_", "-");
    else if (key === "CONTENT_TYPE") name = "content-type";
    else if (key === "CONTENT_LENGTH") name = "content-length";
    else continue;
    const value = env[key];
    if (value === "" && name === "content-length") continue;
    try {
      headers.append(name, value);
    } catch {
      // A value Headers refuses (a byte it cannot represent) is left out rather than failing the request.
    }
  }
  return headers;
}

/** Reads the body whole without a web stream (the gateway's chunks copied into one buffer). */
export type WholeBody = () => Promise<Uint8Array>;

const decoder = new TextDecoder();

/** The bytes as an ArrayBuffer of their own: the one under them when they fill it, else a copy (never a wider view). */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  const buffer = bytes.buffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) return buffer;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * A standard Request whose arrayBuffer(), text() and json() read the body straight from the
 * gateway while its stream is untouched. Request's own read the stream chunk by chunk, join the
 * chunks, then copy the result: a 1 MiB POST cost 2.8 ms of CPU and 3 MiB, against 1 MiB here.
 * Once the stream was touched (body read, locked, cloned), Request's own methods run. Defined on
 * first use: naming Request loads Node's fetch (undici), 4-5 MiB a process that never builds one.
 */
function defineCgiRequest() {
  return class CgiRequest extends Request {
    #whole: WholeBody | null;
    readonly #signal: (() => AbortSignal) | undefined;

    constructor(url: string, init: RequestInit, whole: WholeBody | null, signal: (() => AbortSignal) | undefined) {
      super(url, init);
      this.#whole = whole;
      this.#signal = signal;
    }

    /**
     * The signal given (cgi.signal) itself, not one Request makes to follow it: following cost
     * undici an AbortController, a listener and a FinalizationRegistry entry, 15-20 µs of a
     * worker's time. Asked for only when read, so a script that never reads it builds none.
     * clone() and `new Request(url, request)` follow it too; `new Request(request)` takes
     * Request's own signal, which never fires.
     */
    override get signal(): AbortSignal {
      return this.#signal?.() ?? super.signal;
    }

    /** The body's bytes read directly, or null when Request's own method must run. */
    #direct(): Promise<Uint8Array> | null {
      const whole = this.#whole;
      const stream = this.body;
      if (whole === null || stream === null || stream.locked || this.bodyUsed) return null;
      this.#whole = null;
      // The stream has not pulled anything (highWaterMark 0); cancelling it marks the body used,
      // so a second read fails as Request's would ("Body is unusable").
      void stream.cancel();
      return whole();
    }

    override arrayBuffer(): Promise<ArrayBuffer> {
      const bytes = this.#direct();
      return bytes === null ? super.arrayBuffer() : bytes.then(arrayBufferOf);
    }

    override text(): Promise<string> {
      const bytes = this.#direct();
      return bytes === null ? super.text() : bytes.then((b) => decoder.decode(b));
    }

    override json(): Promise<unknown> {
      const bytes = this.#direct();
      return bytes === null ? super.json() : bytes.then((b) => JSON.parse(decoder.decode(b)) as unknown);
    }

    override clone(): Request {
      // A clone tees the stream: both must read from it from now on.
      this.#whole = null;
      const clone = super.clone();
      // Request's clone follows Request's own signal, which never fires; this one follows cgi.signal.
      return this.#signal === undefined ? clone : new Request(clone, { signal: this.#signal() });
    }
  };
}

type CgiRequestClass = ReturnType<typeof defineCgiRequest>;
let cgiRequest: CgiRequestClass | null = null;

/** `signal` gives the request's abort signal when the script first reads it (see CgiRequest.signal). */
export function buildRequest(
  env: Readonly<Record<string, string>>,
  body: () => ReadableStream<Uint8Array>,
  signal?: () => AbortSignal,
  whole?: WholeBody,
): Request {
  const method = (env.REQUEST_METHOD || "GET").toUpperCase();
  const init: RequestInit & { duplex?: "half" } = { method, headers: headersFromEnv(env) };
  const hasBody = !NO_BODY.has(method);
  if (hasBody) {
    init.body = body();
    init.duplex = "half";
  }
  cgiRequest ??= defineCgiRequest();
  return new cgiRequest(requestUrl(env), init, hasBody ? (whole ?? null) : null, signal);
}
