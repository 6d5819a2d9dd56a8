// The plain-Node baseline: node:http answering the same hello world, single process.
// Usage: node bench/node-http.mjs PORT [HOST]
import http from "node:http";

const port = Number(process.argv[2] ?? 8081);
const host = process.argv[3] ?? "127.0.0.1";

const server = http.createServer((req, res) => {
  res.setHeader("content-type", "text/html; charset=utf-8");
  res.end("Hello, world");
});
// nginx keeps idle upstream connections for 60 s; outlive it so a reused one is never closed under it.
server.keepAliveTimeout = 75_000;
server.listen(port, host);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
