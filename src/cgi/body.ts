// The request body as a web ReadableStream, pulled from the gateway's source with a size cap.
import { BodyAbortedError, BodyTooLargeError } from "./errors.ts";

/** Where body bytes come from: the next chunk, or null at the end (FastCGI: the empty STDIN record). */
export type BodySource = () => Promise<Uint8Array | null>;

/** CONTENT_LENGTH as a byte count, or -1 when it is absent or not a decimal number (RFC 3875 4.1.2). */
export function declaredLength(env: Readonly<Record<string, string | undefined>>): number {
  const value = env.CONTENT_LENGTH;
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : -1;
}

/**
 * CONTENT_LENGTH and max_body_size as every reader applies them to one body's chunks. RFC 3875
 * 4.2: "the script MUST NOT attempt to read more than CONTENT_LENGTH bytes, even if more data is
 * available". Bytes past it are dropped, as PHP's php://input drops them; a body that ends short
 * is delivered as it is, as PHP delivers it.
 */
export class BodyMeter {
  readonly #maxBytes: number;
  readonly #declared: number;
  #seen = 0;

  /** `declared`: CONTENT_LENGTH, -1 for none; `maxBytes`: 0 for no limit. */
  constructor(maxBytes: number, declared: number) {
    this.#maxBytes = maxBytes;
    this.#declared = declared;
  }

  /** All CONTENT_LENGTH bytes were read: the body ends here, whatever the source still has. */
  get complete(): boolean {
    return this.#declared >= 0 && this.#seen >= this.#declared;
  }

  /**
   * The source's next chunk as a reader gets it, cut at CONTENT_LENGTH; null at the end of the
   * body or of CONTENT_LENGTH. Rejects with BodyTooLargeError past maxBytes, and with
   * BodyAbortedError when the read fails (the request was aborted).
   */
  async next(read: BodySource): Promise<Uint8Array | null> {
    if (this.complete) return null;
    let chunk: Uint8Array | null;
    try {
      chunk = await read();
    } catch {
      throw new BodyAbortedError();
    }
    if (chunk === null) return null;
    const declared = this.#declared;
    if (declared >= 0 && this.#seen + chunk.byteLength > declared) chunk = chunk.subarray(0, declared - this.#seen);
    this.#seen += chunk.byteLength;
    if (this.#maxBytes > 0 && this.#seen > this.#maxBytes) throw new BodyTooLargeError(this.#maxBytes);
    return chunk;
  }
}

/**
 * A pull stream: nothing is read from the source until the script reads, so an unread body costs
 * nothing here. The stream ends after `declared` bytes (CONTENT_LENGTH, -1 for none) and fails
 * past `maxBytes` (see BodyMeter). `refuse`, asked on the first read, may fail the stream instead
 * (the body was read another way already).
 */
export function bodyStream(read: BodySource, maxBytes: number, declared = -1, refuse?: () => Error | null): ReadableStream<Uint8Array> {
  const meter = new BodyMeter(maxBytes, declared);
  let first = true;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const refused = first ? (refuse?.() ?? null) : null;
        first = false;
        if (refused !== null) {
          controller.error(refused);
          return;
        }
        let chunk: Uint8Array | null;
        try {
          chunk = await meter.next(read);
        } catch (error) {
          controller.error(error);
          return;
        }
        if (chunk === null) {
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        if (meter.complete) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The bytes bodyStream gives, with its limits and errors, as an async iterable: for the readers
 * that take the body in parts (cgi.form()), which need no web stream. Building and pulling a
 * ReadableStream cost a tenth of a worker's time at the form row.
 */
export async function* bodyChunks(read: BodySource, maxBytes: number, declared = -1): AsyncGenerator<Uint8Array, void> {
  const meter = new BodyMeter(maxBytes, declared);
  for (let chunk = await meter.next(read); chunk !== null; chunk = await meter.next(read)) yield chunk;
}
