// The body stream: at most CONTENT_LENGTH bytes reach the script (RFC 3875 4.2), a short body as it came.
import t from "tap";
import { bodyChunks, bodyStream, declaredLength } from "../../src/cgi/body.ts";

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

/** What bodyChunks yields, joined. */
async function joined(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

t.test("bodyChunks (for cgi.form() and cgi.text()) keeps the stream's limits: CONTENT_LENGTH, max_body_size, a failed read", async (t) => {
  const long = source([Buffer.from("abcdef"), Buffer.from("ghijkl"), Buffer.from("never read")]);
  t.equal(await joined(bodyChunks(long.read, 0, 10)), "abcdefghij");
  t.equal(long.reads(), 2, "nothing is read past the declared length");
  const exact = source([Buffer.from("12345")]);
  t.equal(await joined(bodyChunks(exact.read, 0, 5)), "12345");
  t.equal(exact.reads(), 1, "exactly CONTENT_LENGTH ends without waiting for the source's end");
  const none = source([Buffer.from("surplus")]);
  t.equal(await joined(bodyChunks(none.read, 0, 0)), "");
  t.equal(none.reads(), 0, "CONTENT_LENGTH 0 reads nothing");
  t.equal(await joined(bodyChunks(source([Buffer.from("abc")]).read, 0, 10)), "abc", "a short body as it came");
  t.equal(await joined(bodyChunks(source([Buffer.from("ab"), Buffer.from("cd")]).read, 0)), "abcd");
  await t.rejects(joined(bodyChunks(source([Buffer.alloc(10), Buffer.alloc(10)]).read, 15)), { code: "TSCGI_E_CGI_BODY_TOO_LARGE" });
  await t.rejects(
    joined(
      bodyChunks(async () => {
        throw new Error("connection reset");
      }, 0),
    ),
    { code: "TSCGI_E_CGI_BODY_ABORTED" },
  );
});
