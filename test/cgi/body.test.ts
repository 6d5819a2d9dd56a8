// The body stream: at most CONTENT_LENGTH bytes reach the script (RFC 3875 4.2), a short body as it came.
import t from "tap";
import { bodyStream, declaredLength } from "../../src/cgi/body.ts";

/** A source handing out the given chunks, counting how many reads the stream made. */
function source(chunks: Uint8Array[]): { read: () => Promise<Uint8Array | null>; reads: () => number } {
  let reads = 0;
  return {
    read: async () => (reads++, chunks.shift() ?? null),
    reads: () => reads,
  };
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

t.test("CONTENT_LENGTH is read as RFC 3875 4.1.2 writes it, anything else as absent", async (t) => {
  t.equal(declaredLength({ CONTENT_LENGTH: "10" }), 10);
  t.equal(declaredLength({ CONTENT_LENGTH: "0" }), 0);
  for (const value of [undefined, "", "-1", "1e3", " 10", "0x10", "10.5", "9".repeat(16)]) {
    t.equal(declaredLength({ CONTENT_LENGTH: value }), -1, JSON.stringify(value));
  }
});

t.test("bytes past CONTENT_LENGTH are dropped, even inside one chunk", async (t) => {
  const s = source([Buffer.from("abcdef"), Buffer.from("ghijkl"), Buffer.from("never read")]);
  t.equal(await text(bodyStream(s.read, 0, 10)), "abcdefghij");
  t.equal(s.reads(), 2, "nothing is read past the declared length");
});

t.test("a body of exactly CONTENT_LENGTH ends without waiting for the source's end", async (t) => {
  const s = source([Buffer.from("12345")]);
  t.equal(await text(bodyStream(s.read, 0, 5)), "12345");
  t.equal(s.reads(), 1);
});

t.test("CONTENT_LENGTH 0 reads nothing at all", async (t) => {
  const s = source([Buffer.from("surplus")]);
  t.equal(await text(bodyStream(s.read, 0, 0)), "");
  t.equal(s.reads(), 0);
});

t.test("a body shorter than CONTENT_LENGTH is delivered as it came", async (t) => {
  const s = source([Buffer.from("abc")]);
  t.equal(await text(bodyStream(s.read, 0, 10)), "abc");
});

t.test("without CONTENT_LENGTH the whole body is read, up to max_body_size", async (t) => {
  t.equal(await text(bodyStream(source([Buffer.from("ab"), Buffer.from("cd")]).read, 0)), "abcd");
  await t.rejects(text(bodyStream(source([Buffer.alloc(10), Buffer.alloc(10)]).read, 15)), { code: "TSCGI_E_CGI_BODY_TOO_LARGE" });
});
