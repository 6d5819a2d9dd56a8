// Forms and uploads through the busboy spooler: fields, files on disk, every limit's 413, malformed
// bodies' 400, and nothing left in upload_tmp_dir after any failure or after the request.
import t, { type Test } from "tap";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BodyTooLargeError } from "../../src/cgi/errors.ts";
import { onSignalAbort } from "../../src/cgi/exchange.ts";
import type { FormLimits } from "../../src/runtime/form.ts";
import { SPOOL_HIGH_WATER } from "../../src/stores/spool-writer.ts";
import { UploadSpooler } from "../../src/stores/uploads.ts";

const LIMITS: FormLimits = { maxFileSize: 1 << 20, maxFiles: 5, maxFields: 10, maxFieldSize: 1024, maxBodySize: 8 << 20 };
const BOUNDARY = "----tscgi-test-boundary";
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;

type Part = { name: string; value: string } | { name: string; filename: string; type?: string; data: Buffer | string };

/** A multipart/form-data body as browsers send it. */
function multipart(parts: Part[], end = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if ("filename" in part) head += `; filename="${part.filename}"\r\nContent-Type: ${part.type ?? "application/octet-stream"}`;
    chunks.push(Buffer.from(head + "\r\n\r\n"), Buffer.from("value" in part ? part.value : part.data), Buffer.from("\r\n"));
  }
  if (end) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

/** The body in small pieces, so parts straddle chunks as they do off a socket. */
async function* pieces(body: Buffer, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

function setup(t: Test) {
  const tmp = t.testdir();
  const spooler = new UploadSpooler(join(tmp, "uploads"));
  /** What is left under upload_tmp_dir, as relative paths. */
  const left = () => (existsSync(spooler.tmpDir) ? readdirSync(spooler.tmpDir, { recursive: true }) : []);
  return { tmp, spooler, left };
}

t.test("urlencoded fields, repeated names and URLSearchParams-style access", async (t) => {
  const { spooler, left } = setup(t);
  const body = Buffer.from("name=Ada+Lovelace&tag=a&tag=b&note=caf%C3%A9%20%26%20tea&empty=");
  const { form, cleanup } = await spooler.parse({
    contentType: "application/x-www-form-urlencoded; charset=UTF-8",
    body: pieces(body, 5),
    limits: LIMITS,
  });
  t.equal(form.get("name"), "Ada Lovelace");
  t.same(form.getAll("tag"), ["a", "b"]);
  t.equal(form.get("note"), "café & tea");
  t.equal(form.get("empty"), "");
  t.equal(form.get("missing"), null);
  t.same(form.getAll("missing"), []);
  t.ok(form.has("tag"));
  t.notOk(form.has("missing"));
  t.same(
    [...form],
    [
      ["name", "Ada Lovelace"],
      ["tag", "a"],
      ["tag", "b"],
      ["note", "café & tea"],
      ["empty", ""],
    ],
  );
  t.same([...form.keys()], ["name", "tag", "tag", "note", "empty"]);
  t.same(form.files, []);
  await cleanup();
  t.same(left(), [], "no directory made for a form without files");
});

t.test("multipart fields and files: each file on disk with its name, type and size; cleanup removes it", async (t) => {
  const { spooler, left } = setup(t);
  const photo = Buffer.alloc(100_000, 7);
  const body = multipart([
    { name: "title", value: "Holiday" },
    { name: "photo", filename: "C:\\Users\\ada\\beach.jpg", type: "image/jpeg", data: photo },
    { name: "docs", filename: "a.txt", type: "text/plain", data: "alpha" },
    { name: "docs", filename: "b.txt", type: "text/plain", data: "beta" },
    { name: "nothing", filename: "", data: "" },
  ]);
  const { form, cleanup } = await spooler.parse({ contentType: MULTIPART, body: pieces(body, 1000), limits: LIMITS });
  t.equal(form.get("title"), "Holiday");
  t.equal(form.files.length, 3, "an empty file input is not an upload");
  const file = form.file("photo")!;
  t.equal(file.field, "photo");
  t.equal(file.name, "beach.jpg", "the client's directory is dropped");
  t.equal(file.type, "image/jpeg");
  t.equal(file.size, photo.length);
  t.ok(file.path.startsWith(spooler.tmpDir + "/"), "spooled under upload_tmp_dir");
  t.same(readFileSync(file.path), photo);
  t.equal(statSync(file.path).mode & 0o777, 0o600, "readable by tscgi only");
  t.same(
    form.getFiles("docs").map((f) => [f.name, readFileSync(f.path, "utf8")]),
    [
      ["a.txt", "alpha"],
      ["b.txt", "beta"],
    ],
  );
  t.ok(form.has("photo"), "has() sees files");
  t.equal(form.file("missing"), null);
  await cleanup();
  t.notOk(existsSync(file.path));
  t.same(left(), [], "the request's directory is gone");
});

t.test("a moved file survives cleanup; the others do not", async (t) => {
  const { tmp, spooler, left } = setup(t);
  const body = multipart([
    { name: "keep", filename: "keep.bin", data: "kept" },
    { name: "drop", filename: "drop.bin", data: "dropped" },
  ]);
  const { form, cleanup } = await spooler.parse({ contentType: MULTIPART, body: pieces(body), limits: LIMITS });
  const to = join(tmp, "kept.bin");
  t.equal(await form.file("keep")!.move(to), to);
  t.equal(form.file("keep")!.path, to);
  await cleanup();
  t.equal(readFileSync(to, "utf8"), "kept");
  t.same(left(), []);
});

t.test("PHP-style a[] and a[b] names, on request", async (t) => {
  const { spooler } = setup(t);
  const body = Buffer.from(
    "tags[]=x&tags[]=y&user[name]=ada&user[langs][]=en&user[langs][]=fr&plain=1&plain=2&m[2]=two&m[]=three&__proto__[admin]=1&constructor[x]=1&odd[=1",
  );
  const { form } = await spooler.parse({
    contentType: "application/x-www-form-urlencoded",
    body: pieces(body),
    limits: { ...LIMITS, maxFields: 20 },
  });
  t.same(form.getAll("tags[]"), ["x", "y"], "flat access keeps the names as sent");
  const nested = form.nested();
  t.same(nested.tags, ["x", "y"]);
  t.same(nested.user, { name: "ada", langs: ["en", "fr"] });
  t.equal(nested.plain, "2", "a plain name repeated keeps the last value, as PHP does");
  t.same(nested.m, { 2: "two", 3: "three" }, "[] appends after the largest index");
  t.equal(nested["odd["], "1", "a name that is not PHP syntax stays as it is");
  t.equal(({} as Record<string, unknown>).admin, undefined, "Object.prototype untouched");
  t.same(nested["__proto__"], { admin: "1" }, "__proto__ is only data");
  t.equal(Object.getPrototypeOf(nested), null);
});

t.test("files nest too: docs[] gives a list of files", async (t) => {
  const { spooler } = setup(t);
  const body = multipart([
    { name: "docs[]", filename: "a.txt", data: "a" },
    { name: "docs[]", filename: "b.txt", data: "b" },
    { name: "meta[title]", value: "T" },
  ]);
  const { form, cleanup } = await spooler.parse({ contentType: MULTIPART, body: pieces(body), limits: LIMITS });
  const nested = form.nested() as { docs: { name: string }[]; meta: { title: string } };
  t.same(
    nested.docs.map((file) => file.name),
    ["a.txt", "b.txt"],
  );
  t.same(nested.meta, { title: "T" });
  await cleanup();
});

/** Parses `body` expecting a coded rejection, then checks nothing is left on disk. */
async function rejects(
  t: Test,
  body: Buffer | AsyncIterable<Uint8Array>,
  limits: Partial<FormLimits>,
  code: string,
  status: number,
  contentType = MULTIPART,
) {
  const { spooler, left } = setup(t);
  const input = Buffer.isBuffer(body) ? pieces(body, 4096) : body;
  const error = await spooler.parse({ contentType, body: input, limits: { ...LIMITS, ...limits } }).then(
    () => null,
    (e: unknown) => e as { code: string; status: number; message: string },
  );
  t.equal(error?.code, code, code);
  t.equal(error?.status, status);
  t.same(left(), [], "nothing left in upload_tmp_dir");
  return error;
}

t.test("each limit answers 413 with a code naming its key, and leaves nothing on disk", async (t) => {
  const file = (name: string, size: number): Part => ({ name, filename: `${name}.bin`, data: Buffer.alloc(size, 1) });
  const bigFile = await rejects(
    t,
    multipart([file("a", 100), file("b", 3000)]),
    { maxFileSize: 2048 },
    "TSCGI_E_API_UPLOAD_TOO_LARGE",
    413,
  );
  t.match(bigFile?.message, /"b".*upload_max_file_size = 2048/);
  const many = await rejects(
    t,
    multipart([file("a", 10), file("b", 10), file("c", 10)]),
    { maxFiles: 2 },
    "TSCGI_E_API_UPLOAD_TOO_MANY_FILES",
    413,
  );
  t.match(many?.message, /upload_max_files = 2/);
  const fields = [1, 2, 3, 4].map((i) => ({ name: `f${i}`, value: "v" }));
  await rejects(t, multipart([file("a", 10), ...fields]), { maxFields: 3 }, "TSCGI_E_API_FORM_TOO_MANY_FIELDS", 413);
  await rejects(
    t,
    Buffer.from("a=1&b=2&c=3&d=4"),
    { maxFields: 3 },
    "TSCGI_E_API_FORM_TOO_MANY_FIELDS",
    413,
    "application/x-www-form-urlencoded",
  );
  const long = await rejects(
    t,
    multipart([file("a", 10), { name: "bio", value: "x".repeat(2000) }]),
    {},
    "TSCGI_E_API_FORM_FIELD_TOO_LARGE",
    413,
  );
  t.match(long?.message, /"bio".*form_max_field_size = 1024/);
  await rejects(
    t,
    Buffer.from(`bio=${"x".repeat(2000)}`),
    {},
    "TSCGI_E_API_FORM_FIELD_TOO_LARGE",
    413,
    "application/x-www-form-urlencoded",
  );
  await rejects(t, Buffer.from(`${"n".repeat(2000)}=1`), {}, "TSCGI_E_API_FORM_FIELD_TOO_LARGE", 413, "application/x-www-form-urlencoded");
  await rejects(t, multipart([file("a", 50_000)]), { maxBodySize: 20_000 }, "TSCGI_E_CGI_BODY_TOO_LARGE", 413);
});

t.test("a body that fails while streaming (over max_body_size by the context's count) leaves nothing", async (t) => {
  const body = multipart([{ name: "a", filename: "a.bin", data: Buffer.alloc(50_000, 1) }]);
  async function* failing() {
    yield body.subarray(0, 30_000);
    throw new BodyTooLargeError(30_000);
  }
  await rejects(t, failing(), {}, "TSCGI_E_CGI_BODY_TOO_LARGE", 413);
});

t.test("malformed bodies answer 400 and leave nothing", async (t) => {
  const data = Buffer.alloc(10_000, 2);
  await rejects(t, multipart([{ name: "a", filename: "a.bin", data }], false), {}, "TSCGI_E_API_FORM_MALFORMED", 400);
  await rejects(t, Buffer.from("no boundary here"), {}, "TSCGI_E_API_FORM_MALFORMED", 400, "multipart/form-data");
});

t.test("another content type is 415; no body or no type is an empty form", async (t) => {
  await rejects(t, Buffer.from("{}"), {}, "TSCGI_E_API_FORM_CONTENT_TYPE", 415, "application/json");
  const { spooler } = setup(t);
  const empty = await spooler.parse({ contentType: "", body: pieces(Buffer.from("x")), limits: LIMITS });
  t.same([...empty.form], []);
  const get = await spooler.parse({ contentType: MULTIPART, body: null, limits: LIMITS });
  t.same(get.form.files, []);
});

t.test("an aborted request stops the upload and leaves nothing", async (t) => {
  const { spooler, left } = setup(t);
  const controller = new AbortController();
  const head = multipart([{ name: "a", filename: "a.bin", data: Buffer.alloc(100_000, 3) }], false).subarray(0, 60_000);
  async function* stalls() {
    yield head;
    controller.abort(new Error("client went away"));
    yield Buffer.alloc(10, 3);
  }
  const onAbort = (listener: (reason: unknown) => void) => onSignalAbort(controller.signal, listener);
  await t.rejects(spooler.parse({ contentType: MULTIPART, body: stalls(), limits: LIMITS, onAbort }), {
    message: "client went away",
  });
  t.same(left(), []);
});

t.test("a 200 MiB upload streams to disk: memory grows by less than 30 MiB", async (t) => {
  const { spooler, left } = setup(t);
  const total = 200 << 20;
  const chunk = Buffer.alloc(64 << 10, 0x61);
  let peak = 0;
  async function* body() {
    yield Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="big"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    for (let sent = 0; sent < total; sent += chunk.length) {
      if ((sent & ((4 << 20) - 1)) === 0) peak = Math.max(peak, process.memoryUsage().rss);
      yield chunk;
    }
    yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  }
  // Warm up first, so the baseline holds busboy and the stream machinery already.
  const warm = await spooler.parse({
    contentType: MULTIPART,
    body: pieces(multipart([{ name: "w", filename: "w", data: Buffer.alloc(1 << 20) }]), 65536),
    limits: LIMITS,
  });
  await warm.cleanup();
  const before = process.memoryUsage().rss;
  const { form, cleanup } = await spooler.parse({
    contentType: MULTIPART,
    body: body(),
    limits: { ...LIMITS, maxFileSize: 0, maxBodySize: 0 },
  });
  peak = Math.max(peak, process.memoryUsage().rss);
  const growth = (peak - before) / (1 << 20);
  t.equal(form.file("big")!.size, total);
  t.equal(statSync(form.file("big")!.path).size, total);
  t.ok(growth < 30, `RSS grew by ${growth.toFixed(1)} MiB`);
  t.comment(`200 MiB upload: RSS ${Math.round(before / (1 << 20))} MiB before, peak +${growth.toFixed(1)} MiB`);
  await cleanup();
  t.same(left(), []);
});

t.test("an upload_tmp_dir that cannot be written gives TSCGI_E_API_UPLOAD_STORAGE naming it", async (t) => {
  const tmp = t.testdir({ "a-file": "not a directory" });
  const spooler = new UploadSpooler(join(tmp, "a-file", "uploads"));
  const body = multipart([{ name: "a", filename: "a.bin", data: "x" }]);
  await t.rejects(spooler.parse({ contentType: MULTIPART, body: pieces(body), limits: LIMITS }), {
    code: "TSCGI_E_API_UPLOAD_STORAGE",
    status: 500,
    message: /upload_tmp_dir \(.*a-file\/uploads\)/,
  });
});

t.test("every body chunk is given back, each only once its file bytes are on disk: a reused chunk corrupts nothing", async (t) => {
  const { spooler } = setup(t);
  // Two files, so a chunk's bytes may belong to either; distinct bytes show any overwrite.
  const first = Buffer.alloc(3 * SPOOL_HIGH_WATER + 123);
  for (let i = 0; i < first.length; i++) first[i] = (i * 7) % 251;
  const second = Buffer.from("second file ".repeat(5000));
  const body = multipart([
    { name: "a", filename: "a.bin", data: first },
    { name: "note", value: "between" },
    { name: "b", filename: "b.txt", data: second },
  ]);
  // Each chunk a copy of its own, as a pooled read buffer is: given back, it is zeroed as a reused one would be.
  const given: Uint8Array[] = [];
  let back = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < body.length; i += 16 * 1024) {
      const chunk = Buffer.from(body.subarray(i, i + 16 * 1024));
      given.push(chunk);
      yield chunk;
    }
  }
  const { form, cleanup } = await spooler.parse({
    contentType: MULTIPART,
    body: chunks(),
    limits: { ...LIMITS, maxFileSize: 8 << 20 },
    release: (chunk) => {
      t.ok(given.includes(chunk), "a chunk the parser was given");
      back++;
      chunk.fill(0);
    },
  });
  t.equal(back, given.length, "every chunk given back");
  t.equal(form.get("note"), "between");
  const [a, b] = form.files;
  t.ok(readFileSync(a.path).equals(first), "the first file is intact");
  t.ok(readFileSync(b.path).equals(second), "the second file is intact");
  t.equal(a.size, first.length);
  await cleanup();
});
