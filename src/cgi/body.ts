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
 * A pull stream: nothing is read from the source until the script reads, so an unread body costs
 * nothing here. With `declared` (CONTENT_LENGTH, -1 for none) the stream ends after that many
 * bytes: RFC 3875 4.2, "the script MUST NOT attempt to read more than CONTENT_LENGTH bytes, even
 * if more data is available". Bytes past it are dropped, as PHP's php://input drops them; a body
 * that ends short is delivered as it is, as PHP delivers it. `refuse`, asked on the first read,
 * may fail the stream instead (the body was read another way already).
 */
export function bodyStream(read: BodySource, maxBytes: number, declared = -1, refuse?: () => Error | null): ReadableStream<Uint8Array> {
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const refused = seen === 0 ? (refuse?.() ?? null) : null;
        if (refused !== null) {
          controller.error(refused);
          return;
        }
        if (declared >= 0 && seen >= declared) {
          controller.close();
          return;
        }
        let chunk: Uint8Array | null;
        try {
          chunk = await read();
        } catch {
          controller.error(new BodyAbortedError());
          return;
        }
        if (chunk === null) {
          controller.close();
          return;
        }
        if (declared >= 0 && seen + chunk.byteLength > declared) chunk = chunk.subarray(0, declared - seen);
        seen += chunk.byteLength;
        if (maxBytes > 0 && seen > maxBytes) {
          controller.error(new BodyTooLargeError(maxBytes));
          return;
        }
        controller.enqueue(chunk);
        if (seen === declared) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The bytes bodyStream gives, with its limits and errors, as an async iterable: for the readers
 * that take the body whole (cgi.form(), cgi.text()), which need no web stream. Building and
 * pulling a ReadableStream cost a tenth of a worker's time at the form row.
 */
export async function* bodyChunks(read: BodySource, maxBytes: number, declared = -1): AsyncGenerator<Uint8Array, void> {
  let seen = 0;
  while (declared < 0 || seen < declared) {
    let chunk: Uint8Array | null;
    try {
      chunk = await read();
    } catch {
      throw new BodyAbortedError();
    }
    if (chunk === null) return;
    if (declared >= 0 && seen + chunk.byteLength > declared) chunk = chunk.subarray(0, declared - seen);
    seen += chunk.byteLength;
    if (maxBytes > 0 && seen > maxBytes) throw new BodyTooLargeError(maxBytes);
    yield chunk;
  }
}
