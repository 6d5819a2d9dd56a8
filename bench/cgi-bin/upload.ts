// Memory benchmark, request side: streams the request body through sha256 without keeping it,
// and answers the byte count and digest as JSON. The worker's RSS must stay flat while a
// body far larger than memory arrives.
import { createHash } from "node:crypto";
import type { Cgi } from "tscgi";

export default async function (cgi: Cgi) {
  const hash = createHash("sha256");
  let bytes = 0;
  const body = cgi.request.body;
  if (body) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      bytes += value.byteLength;
    }
  }
  return { bytes, sha256: hash.digest("hex") };
}
