// Memory benchmark, response side: streams `?bytes=N` bytes (default 1 GiB) in 64 KiB chunks,
// awaiting each write, so the worker's RSS must stay flat however large the response is.
import type { Cgi } from "tscgi";

const CHUNK = new Uint8Array(64 * 1024);

export default async function (cgi: Cgi) {
  const requested = Number(cgi.query.get("bytes") ?? 1024 * 1024 * 1024);
  const total = Number.isSafeInteger(requested) && requested >= 0 ? requested : 0;
  cgi.status(200);
  cgi.header("content-type", "application/octet-stream");
  cgi.header("content-length", String(total));
  let left = total;
  while (left > 0) {
    const n = Math.min(left, CHUNK.byteLength);
    await cgi.write(n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n));
    left -= n;
  }
}
