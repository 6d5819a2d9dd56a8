// The plain-Node baseline: node:http answering the same hello world, single process; a POST's
// body is read whole and answered with its size (the toolkit bench's 1 MiB row). /upload and
// /download do what bench/cgi-bin/upload.ts and download.ts do, for the streaming reference rows.
// Usage: node bench/node-http.mjs PORT [HOST]
import { createHash } from "node:crypto";
import http from "node:http";

const port = Number(process.argv[2] ?? 8081);
const host = process.argv[3] ?? "127.0.0.1";
const CHUNK = Buffer.alloc(64 * 1024);

const server = http.createServer((req, res) => {
  if (req.url === "/upload") return void upload(req, res);
  if (req.url?.startsWith("/download?")) return void download(req, res);
  res.setHeader("content-type", "text/html; charset=utf-8");
  if (req.method !== "POST") return void res.end("Hello, world");
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => res.end(`bytes: ${Buffer.concat(chunks).length}`));
});

// The body through sha256 without keeping it, answered as upload.ts answers.
async function upload(req, res) {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of req) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ bytes, sha256: hash.digest("hex") }));
}

// ?bytes=N zeros in 64 KiB writes, waiting for each to drain, as download.ts awaits cgi.write().
async function download(req, res) {
  const requested = Number(new URL(req.url, "http://bench").searchParams.get("bytes"));
  const total = Number.isSafeInteger(requested) && requested >= 0 ? requested : 0;
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
  for (let left = total; left > 0 && !res.destroyed; left -= CHUNK.length) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve).once("close", resolve));
  }
  res.end();
}

// nginx keeps idle upstream connections for 60 s; outlive it so a reused one is never closed under it.
server.keepAliveTimeout = 75_000;
server.listen(port, host);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
