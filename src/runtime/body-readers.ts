// The request body, read one way per request: as cgi.request's stream, or by cgi.form(), or by
// cgi.text() / cgi.json(); each of these keeps its result, so calling it again gives the same one
// (PHP's $_POST and php://input), and a second way is refused with a code instead of "Body is unusable".
import { BodyMeter, bodyChunks, bodyStream, declaredLength, type BodySource } from "../cgi/body.ts";
import type { CgiEnv } from "./types.ts";
import { BodyConsumedError, BodyJsonError } from "./errors.ts";
import type { Form, FormLimits, FormParser, ParsedForm } from "./form.ts";

/** Who read the body first, as the script wrote it. */
type Reader = "cgi.request" | "cgi.form()" | "cgi.text()" | "cgi.json()";

// RFC 9110 9.3.1, 9.3.2: a GET or HEAD body has no defined meaning, and Request refuses one.
const NO_BODY = new Set(["GET", "HEAD"]);
const decoder = new TextDecoder();

export class RequestBody {
  readonly #read: BodySource;
  readonly #env: CgiEnv;
  readonly #maxBodySize: number;
  readonly #onAbort: (listener: (reason: unknown) => void) => () => void;
  readonly #release: ((chunk: Uint8Array) => void) | undefined;
  readonly #lend: (() => void) | undefined;
  #first: Reader | null = null;
  #bytes: Promise<Uint8Array> | null = null;
  #text: Promise<string> | null = null;
  #json: Promise<unknown> | null = null;
  #form: Promise<ParsedForm> | null = null;

  /**
   * `onAbort`: the request's abort, as Exchange.onAbort gives it (for uploads being spooled).
   * `release`: gives back a chunk of the body a reader is done with (see FormInput.release).
   * `lend`: tells the gateway, before the first read, that every chunk will be given back.
   */
  constructor(
    read: BodySource,
    env: CgiEnv,
    maxBodySize: number,
    onAbort: (listener: (reason: unknown) => void) => () => void,
    release?: (chunk: Uint8Array) => void,
    lend?: () => void,
  ) {
    this.#read = read;
    this.#env = env;
    this.#maxBodySize = maxBodySize;
    this.#onAbort = onAbort;
    this.#release = release;
    this.#lend = release === undefined ? undefined : lend;
  }

  /**
   * cgi.request's body read whole straight from the gateway, for its arrayBuffer(), text() and
   * json() (see CgiRequest): claims the body as the stream would, without a web stream.
   */
  requestBytes(): Promise<Uint8Array> {
    const refused = this.#claim("cgi.request");
    if (refused !== null) return Promise.reject(refused);
    return this.#whole();
  }

  /** The body as cgi.request streams it: its first read claims the body, or fails if another reader has. */
  stream(): ReadableStream<Uint8Array> {
    return bodyStream(this.#read, this.#maxBodySize, declaredLength(this.#env), () => this.#claim("cgi.request"));
  }

  text(): Promise<string> {
    return (this.#text ??= this.#readBytes("cgi.text()").then((bytes) => decoder.decode(bytes)));
  }

  json(): Promise<unknown> {
    return (this.#json ??= this.#readBytes("cgi.json()").then((bytes) => {
      try {
        return JSON.parse(decoder.decode(bytes)) as unknown;
      } catch (error) {
        throw new BodyJsonError((error as Error).message);
      }
    }));
  }

  form(parser: FormParser, limits: FormLimits): Promise<Form> {
    if (this.#form === null) {
      const hasBody = this.#hasBody();
      const refused = hasBody ? this.#claim("cgi.form()") : null;
      if (refused !== null) return Promise.reject(refused);
      this.#form = parser.parse({
        contentType: this.#env.CONTENT_TYPE ?? "",
        body: hasBody ? this.#unclaimedChunks() : null,
        limits,
        onAbort: this.#onAbort,
        release: this.#release,
        lend: this.#lend,
      });
    }
    return this.#form.then((parsed) => parsed.form);
  }

  /** Deletes the uploads cgi.form() spooled and the script did not move; never throws. */
  async cleanup(): Promise<void> {
    const parsed = await this.#form?.catch(() => null);
    await parsed?.cleanup();
  }

  /** text() and json() share one read of the bytes. */
  #readBytes(reader: Reader): Promise<Uint8Array> {
    if (this.#bytes === null) {
      if (!this.#hasBody()) return (this.#bytes = Promise.resolve(new Uint8Array(0)));
      const refused = this.#claim(reader);
      if (refused !== null) return Promise.reject(refused);
      this.#bytes = this.#whole();
    }
    return this.#bytes;
  }

  /** GET and HEAD carry none: every reader sees an empty body, and none claims it. */
  #hasBody(): boolean {
    return !NO_BODY.has((this.#env.REQUEST_METHOD ?? "GET").toUpperCase());
  }

  /** The body in one buffer: each chunk is copied once and given back, so none needs a copy of its own. */
  #whole(): Promise<Uint8Array> {
    this.#lend?.();
    return readWhole(this.#read, this.#maxBodySize, declaredLength(this.#env), this.#release);
  }

  #unclaimedChunks(): AsyncIterable<Uint8Array> {
    return bodyChunks(this.#read, this.#maxBodySize, declaredLength(this.#env));
  }

  /** null when `reader` may read the body (it is now the one that did); else the error to give it. */
  #claim(reader: Reader): BodyConsumedError | null {
    const first = this.#first;
    if (first === null) {
      this.#first = reader;
      return null;
    }
    const shared = (first === "cgi.text()" || first === "cgi.json()") && (reader === "cgi.text()" || reader === "cgi.json()");
    return first === reader || shared ? null : new BodyConsumedError(first, reader);
  }
}

/** Room taken at once for a body that declares its length; a longer one grows by doubling. */
const PREALLOCATE_MAX = 8 * 1024 * 1024;
/** Room for the first chunk of a body of unknown length. */
const FIRST_ROOM = 64 * 1024;

/**
 * The body in one buffer, each chunk copied in once and given back (`release`) at once, so the
 * connection reuses its read buffers: a 1 MiB body costs 1 MiB, where joining the chunks (or
 * Request.arrayBuffer()'s stream, joined then copied) held two or three. It reads the source
 * itself, with bodyChunks' limits and errors (BodyMeter) but not its async generator, whose
 * promises made a 1 MiB body in nginx's 32 KiB records cost 18 µs against 13.
 */
export async function readWhole(
  read: BodySource,
  maxBytes: number,
  declared: number,
  release?: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  const meter = new BodyMeter(maxBytes, declared);
  let bytes: Uint8Array | null = null;
  let length = 0;
  for (let chunk = await meter.next(read); chunk !== null; chunk = await meter.next(read)) {
    const need = length + chunk.byteLength;
    if (bytes === null || need > bytes.byteLength) bytes = grow(bytes, length, need, declared);
    bytes.set(chunk, length);
    length = need;
    release?.(chunk);
  }
  if (bytes === null) return new Uint8Array(0);
  return length === bytes.byteLength ? bytes : bytes.subarray(0, length);
}

function grow(bytes: Uint8Array | null, length: number, need: number, declared: number): Uint8Array {
  let room = bytes === null ? (declared >= 0 ? Math.min(declared, PREALLOCATE_MAX) : FIRST_ROOM) : bytes.byteLength * 2;
  if (declared >= need) room = Math.min(room, declared);
  // Not zero-filled: calloc's fresh pages cost up to 5 times the copy; only bytes written are returned.
  const grown = Buffer.allocUnsafe(Math.max(room, need));
  if (bytes !== null) grown.set(bytes.subarray(0, length));
  return grown;
}
