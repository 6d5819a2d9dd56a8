// Fault benchmark load without wrk: CONNS keep-alive connections send GET (or POST with a form
// body) for SECONDS (or until SIGINT), then print wrk-report.lua's WRK line, so faults.sh reads
// either client alike.
// Usage: node bench/load.mjs URL GET|POST CONNS SECONDS [BODY_BYTES]
import http from "node:http";

const [url, method = "GET", connsArg = "64", secondsArg = "15", bodyArg = "1024"] = process.argv.slice(2);
const conns = Number(connsArg);
const seconds = Number(secondsArg);
if (!url || !["GET", "POST"].includes(method) || !(conns > 0) || !(seconds > 0)) {
  console.error("usage: node bench/load.mjs URL GET|POST CONNS SECONDS [BODY_BYTES]");
  process.exit(2);
}
// wrk's --timeout in faults.sh: an answer slower than this counts as a timeout.
const TIMEOUT_MS = 10_000;

const head = "name=tscgi&comment=";
const body = method === "POST" ? Buffer.from(head + "x".repeat(Math.max(0, Number(bodyArg) - head.length))) : null;
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const counts = { requests: 0, status: 0, connect: 0, read: 0, write: 0, timeout: 0 };
const latencies = [];

const started = process.hrtime.bigint();
let deadline = Date.now() + seconds * 1000;
// SIGINT ends the run early, as it does wrk's: no new requests, the ones in flight finish.
process.on("SIGINT", () => {
  deadline = 0;
});

function once() {
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const headers = body ? { "content-type": "application/x-www-form-urlencoded", "content-length": body.length } : {};
    const req = http.request(url, { method, agent, headers, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.on("end", () => {
        counts.requests++;
        if (res.statusCode < 200 || res.statusCode > 399) counts.status++;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
        done();
      });
      res.on("error", () => {
        counts.read++;
        done();
      });
    });
    req.on("timeout", () => {
      counts.timeout++;
      req.destroy(new Error("timeout"));
    });
    req.on("error", (err) => {
      if (err.message === "timeout") return done();
      if (err.code === "ECONNREFUSED") counts.connect++;
      else if (err.code === "EPIPE") counts.write++;
      else counts.read++;
      done();
    });
    req.end(body ?? undefined);
  });
}

async function loop() {
  while (Date.now() < deadline) await once();
}

await Promise.all(Array.from({ length: conns }, loop));
agent.destroy();
const duration = Number(process.hrtime.bigint() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => Math.floor(latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0);
const mean = latencies.length ? Math.floor(latencies.reduce((a, b) => a + b, 0) / latencies.length) : 0;
console.log(
  `WRK requests=${counts.requests} duration_us=${Math.floor(duration)} mean_us=${mean} p50_us=${pct(50)} p99_us=${pct(99)}` +
    ` connect=${counts.connect} read=${counts.read} write=${counts.write} status=${counts.status} timeout=${counts.timeout}`,
);
