// The request body as a web ReadableStream, pulled from the gateway's source with a size cap.
import { BodyReadError, BodyTooLargeError } from "./errors.ts";

/** Where body bytes come from: the next chunk, or null at the end (FastCGI: the empty STDIN record). */
export type BodySource = () => Promise<Uint8Array | null>;

/** A pull stream: nothing is read from the source until the script reads, so an unread body costs nothing here. */
export function bodyStream(read: BodySource, maxBytes: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Uint8Array | null;
        try {
          chunk = await read();
        } catch {
          controller.error(new BodyReadError());
          return;
        }
        if (chunk === null) {
          controller.close();
          return;
        }
        seen += chunk.byteLength;
        if (maxBytes > 0 && seen > maxBytes) {
          controller.error(new BodyTooLargeError(maxBytes));
          return;
        }
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}
