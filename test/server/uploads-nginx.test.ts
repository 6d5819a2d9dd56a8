// Uploads through a real nginx into a real tscgi worker: a 200 MiB file streams to disk (worker
// memory barely grows) and is gone after the request; each limit answers 413 and a malformed body
// 400, with nothing left on disk.
import t from "tap";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { childPids, startTscgi, until, type TscgiProcess } from "../helpers/tscgi.ts";

const MiB = 1024 * 1024;
const BOUNDARY = "----tscgi-test-boundary";

/** Peak resident memory of a process so far, in bytes (VmHWM). */
function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** Posts a multipart body made of `head`, `size` bytes of file content (1 MiB chunks), and `tail`. */
function postStream(port: number, path: string, head: string, size: number, tail: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path,
        headers: {
          "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
          "content-length": Buffer.byteLength(head) + size + Buffer.byteLength(tail),
        },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        // An early answer (a 413 mid-upload) ends the exchange: the rest of the body is not sent.
        res.on("end", () => {
          answered = true;
          resolve({ status: res.statusCode!, body });
          req.destroy();
        });
      },
    );
    let answered = false;
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(MiB, "x");
    let left = size;
    const pump = () => {
      if (left === size) req.write(head);
      while (left > 0 && !answered) {
        const n = Math.min(left, MiB);
        left -= n;
        if (!req.write(n === MiB ? chunk : chunk.subarray(0, n))) return void req.once("drain", pump);
      }
      if (!answered) req.end(tail);
    };
    pump();
  });
}

function filePart(field: string, name: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
}

function multipart(parts: Array<[string, string, string?]>): string {
  let out = "";
  for (const [field, value, file] of parts) {
    out +=
      file === undefined
        ? `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`
        : `${filePart(field, file)}${value}\r\n`;
  }
  return out + `--${BOUNDARY}--\r\n`;
}

const missing = nginxMissing();
if (missing) {
  t.pass("skipped: " + missing);
} else {
  const work = mkdtempSync(join(tmpdir(), "tscgi-uploads-e2e-"));
  const root = join(work, "cgi-bin");
  const uploads = join(work, "uploads");
  mkdirSync(root);
  // The script lists what it got; the test checks the files are gone after.
  const script = [
    'import type { Cgi } from "tscgi";',
    "export default async (cgi: Cgi) => {",
    "  const form = await cgi.form();",
    "  return { fields: form.nested(), files: form.files.map((f) => ({ name: f.name, size: f.size, path: f.path })) };",
    "};",
    "",
  ].join("\n");
  // Digests of what was spooled: the bytes on disk, not only their count.
  const digest = [
    'import { createHash } from "node:crypto";',
    'import { readFileSync } from "node:fs";',
    'import type { Cgi } from "tscgi";',
    "export default async (cgi: Cgi) => {",
    "  const form = await cgi.form();",
    '  return form.files.map((f) => createHash("sha256").update(readFileSync(f.path)).digest("hex"));',
    "};",
    "",
  ].join("\n");
  let tscgi: TscgiProcess;
  let nginx: Nginx;
  t.before(async () => {
    writeFileSync(join(root, "upload.ts"), script);
    writeFileSync(join(root, "digest.ts"), digest);
    tscgi = await startTscgi([
      "--root",
      root,
      "--log-level",
      "debug",
      "--workers",
      "1",
      "--upload-tmp-dir",
      uploads,
      "--max-body-size",
      "300m",
      "--upload-max-file-size",
      "250m",
      "--upload-max-files",
      "2",
      "--form-max-fields",
      "3",
      "--form-max-field-size",
      "100",
    ]);
    nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`, "client_max_body_size 300m;");
  });
  t.teardown(async () => {
    await nginx?.stop();
    await tscgi?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const empty = () => !existsSync(uploads) || readdirSync(uploads).length === 0;

  t.test("a 200 MiB upload streams: worker memory grows by less than 30 MiB, the temp file is gone afterwards", async (t) => {
    const small = await postStream(nginx.port, "/upload", filePart("f", "warm.bin"), 1024, `\r\n--${BOUNDARY}--\r\n`);
    t.equal(small.status, 200, small.body);
    const [worker] = childPids(tscgi.child.pid!);
    t.ok(worker, "the worker's pid");
    const before = peakRss(worker);
    const size = 200 * MiB;
    const big = await postStream(nginx.port, "/upload", filePart("f", "big.bin"), size, `\r\n--${BOUNDARY}--\r\n`);
    t.equal(big.status, 200, big.body);
    const got = JSON.parse(big.body) as { files: Array<{ name: string; size: number; path: string }> };
    t.equal(got.files[0].size, size);
    const growth = peakRss(worker) - before;
    t.comment(`peak RSS growth during a 200 MiB upload: ${(growth / MiB).toFixed(1)} MiB`);
    // Socket reads go into a few reused buffers, each given back once its file bytes are on disk:
    // 12-16 MiB here (the heap's own growth, mostly). A fresh buffer per read, left to the garbage
    // collector, cost 27-50 MiB; buffering the body would cost its 200 MiB.
    t.ok(growth < 30 * MiB, `grew ${(growth / MiB).toFixed(1)} MiB`);
    // Deleted as the request ends, which may be just after nginx has sent the answer.
    t.ok(await until(() => !existsSync(got.files[0].path)), "the temp file is gone");
    t.ok(await until(empty), "nothing left under upload_tmp_dir");
  });

  t.test("files arrive byte for byte: the read buffers they pass through are reused only once written", async (t) => {
    // Bytes that differ from one read to the next, so a buffer reused too early shows in the digest.
    const first = Buffer.alloc(24 * MiB);
    for (let i = 0; i < first.length; i += 4) first.writeUInt32LE((i * 2654435761) >>> 0, i);
    const second = Buffer.from("the second file ".repeat(65536));
    const body = Buffer.concat([
      Buffer.from(filePart("a", "a.bin")),
      first,
      Buffer.from(`\r\n${filePart("b", "b.txt")}`),
      second,
      Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
    ]);
    const res = await fetch(`${nginx.url}/digest`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      body,
    });
    const text = await res.text();
    t.equal(res.status, 200, text);
    const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
    t.same(JSON.parse(text), [sha(first), sha(second)]);
    t.ok(await until(empty), "nothing left under upload_tmp_dir");
  });

  const cases: Array<[string, string, number, RegExp]> = [
    [
      "more files than upload_max_files",
      multipart([
        ["a", "1", "a.txt"],
        ["b", "2", "b.txt"],
        ["c", "3", "c.txt"],
      ]),
      413,
      /upload_max_files/,
    ],
    [
      "more fields than form_max_fields",
      multipart([
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
        ["d", "4"],
      ]),
      413,
      /form_max_fields/,
    ],
    ["a field over form_max_field_size", multipart([["a", "y".repeat(200)]]), 413, /POST \/upload: 413 .*form_max_field_size/],
    ["a multipart body cut off before its closing boundary", `${filePart("f", "cut.txt")}some bytes`, 400, /POST \/upload: 400 /],
  ];
  for (const [what, body, status, logged] of cases) {
    t.test(`${what}: ${status}, nothing left on disk`, async (t) => {
      const res = await fetch(`${nginx.url}/upload`, {
        method: "POST",
        headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body,
      });
      const text = await res.text();
      t.equal(res.status, status, text);
      // 4xx are the client's: logged at debug, with the key to raise.
      await tscgi.waitFor((out) => logged.test(out));
      t.ok(await until(empty), "nothing left under upload_tmp_dir");
    });
  }

  t.test("a file over upload_max_file_size: 413, nothing left on disk", async (t) => {
    const res = await postStream(nginx.port, "/upload", filePart("f", "huge.bin"), 251 * MiB, `\r\n--${BOUNDARY}--\r\n`);
    t.equal(res.status, 413, res.body);
    await tscgi.waitFor(/POST \/upload: 413 .*upload_max_file_size/);
    t.ok(await until(empty), "nothing left under upload_tmp_dir");
  });
}
