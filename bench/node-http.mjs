// The plain-Node baseline: node:http answering the same hello world, single process; a POST's
// body is read whole and answered with its size (the toolkit bench's 1 MiB row).
// Usage: node bench/node-http.mjs PORT [HOST]
import http from "node:http";

const port = Number(process.argv[2] ?? 8081);
const host = process.argv[3] ?? "127.0.0.1";

const server = http.createServer((req, res) => {
  res.setHeader("content-type", "text/html; charset=utf-8");
  if (req.method !== "POST") return void res.end("Hello, world");
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => res.end(`bytes: ${Buffer.concat(chunks).length}`));
});
// nginx keeps idle upstream connections for 60 s; outlive it so a reused one is never closed under it.
server.keepAliveTimeout = 75_000;
server.listen(port, host);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
