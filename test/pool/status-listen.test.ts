// status_listen: the master answers status, ping and readiness on a listener of its own, so a
// probe still gets an answer while the only worker is stuck; readiness says starting, saturated
// and draining when they hold.
import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { connect, type Socket } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readiness, type PoolState } from "../../src/pool/readiness.ts";
import { FcgiClient, parseCgi } from "../helpers/fcgi-client.ts";
import { freePort } from "../helpers/ports.ts";
import { bin, repo, startTscgi } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;

t.test("readiness: starting, draining and saturated, else ready", async (t) => {
  const base: PoolState = {
    stopping: false,
    workers: [
      { ready: true, inflight: 0 },
      { ready: true, inflight: 3 },
    ],
    maxWorkers: 2,
    maxInflight: 4,
    onDemand: false,
    listenQueue: 0,
  };
  const cases: Array<[string, Partial<PoolState>, string]> = [
    ["workers ready, room left", {}, "ready"],
    ["no worker ready yet", { workers: [{ ready: false, inflight: 0 }] }, "starting"],
    ["no worker at all", { workers: [] }, "starting"],
    ["ondemand with no worker: the master starts one per connection", { workers: [], onDemand: true }, "ready"],
    ["stopping", { stopping: true }, "draining"],
    ["connections wait in the listen queue", { listenQueue: 2 }, "saturated"],
    [
      "every worker at max_inflight",
      {
        workers: [
          { ready: true, inflight: 4 },
          { ready: true, inflight: 4 },
        ],
      },
      "saturated",
    ],
    ["full workers, but the pool may start another", { workers: [{ ready: true, inflight: 4 }] }, "ready"],
    ["max_inflight 0 is no limit", { maxInflight: 0, workers: [{ ready: true, inflight: 500 }], maxWorkers: 1 }, "ready"],
  ];
  for (const [label, change, expected] of cases) {
    const r = readiness({ ...base, ...change });
    t.equal(r.ready ? "ready" : r.reason, expected, label);
  }
});

async function get(port: number, path: string, query = ""): Promise<{ status: number; body: string }> {
  const client = new FcgiClient(port);
  try {
    const params = {
      REQUEST_METHOD: "GET",
      REQUEST_URI: query ? `${path}?${query}` : path,
      DOCUMENT_URI: path,
      QUERY_STRING: query,
      REMOTE_ADDR: "127.0.0.1",
    };
    const parsed = parseCgi((await client.request(1, params)).stdout);
    return { status: parsed.status, body: parsed.body.toString() };
  } finally {
    client.close();
  }
}

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test("the master answers on status_listen while the only worker is stuck", async (t) => {
  const statusPort = await freePort();
  const tscgi = await startTscgi([
    "--root",
    fixtures,
    "--workers",
    "1",
    "--ping-path",
    "/ping",
    "--status-path",
    "/status",
    "--status-listen",
    `127.0.0.1:${statusPort}`,
    "--request-timeout",
    "300s",
    "--shutdown-timeout",
    "300s",
  ]);
  t.teardown(() => tscgi.stop("SIGKILL"));
  await tscgi.waitFor(`listening on status 127.0.0.1:${statusPort}`);
  const clientArgs = ["--status-listen", `127.0.0.1:${statusPort}`, "--ping-path", "/ping", "--status-path", "/status"];

  t.same(await get(statusPort, "/ping", "ready"), { status: 200, body: "ready\n" }, "ready once a worker serves");
  t.equal((await get(statusPort, "/hello")).status, 404, "no script runs there");
  t.equal(cli(["ping", "--ready", ...clientArgs]).code, 0, "tscgi ping --ready: 0");

  // The only worker blocks its event loop for good.
  const stuck = new FcgiClient(tscgi.fastcgiPort);
  t.teardown(() => stuck.close());
  void stuck.request(1, { REQUEST_METHOD: "GET", REQUEST_URI: "/spin", DOCUMENT_URI: "/spin", QUERY_STRING: "" }).catch(() => {});
  await tscgi.waitFor("spinning from now on");

  t.same(await get(statusPort, "/ping"), { status: 200, body: "pong" }, "ping answers from the master");
  const page = await get(statusPort, "/status", "json");
  t.equal(page.status, 200, "the status page answers");
  t.equal(JSON.parse(page.body)["total processes"], 1, "and counts the stuck worker");
  const ping = cli(["ping", ...clientArgs]);
  t.equal(ping.code, 0, "tscgi ping goes to status_listen");
  t.equal(ping.out, "pong\n");

  // A connection nobody accepts waits in the listen queue: nothing would serve it now.
  const waiting: Socket = connect(tscgi.fastcgiPort, "127.0.0.1");
  t.teardown(() => waiting.destroy());
  await new Promise<void>((resolve, reject) => waiting.once("connect", resolve).once("error", reject));
  const saturated = await get(statusPort, "/ping", "ready");
  t.equal(saturated.status, 503, "not ready while saturated");
  t.match(saturated.body, /^not ready: saturated \(1 connection\(s\) wait in the listen queue\)/);
  const probe = cli(["ping", "--ready", ...clientArgs]);
  t.equal(probe.code, 1, "tscgi ping --ready: 1");
  t.match(probe.err, /not ready: saturated/);

  // Draining: stopping waits for the stuck request (shutdown_timeout); readiness says so meanwhile.
  tscgi.child.kill("SIGTERM");
  await tscgi.waitFor("SIGTERM: stopping gracefully");
  const draining = await get(statusPort, "/ping", "ready");
  t.equal(draining.status, 503, "not ready while draining");
  t.match(draining.body, /^not ready: draining/);
  t.same(await get(statusPort, "/ping"), { status: 200, body: "pong" }, "still alive while draining");
  t.equal(await tscgi.stop("SIGTERM"), 1, "a second SIGTERM exits at once");
});

t.test("readiness says starting until a worker is ready", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-starting-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gateFile = join(dir, "open");
  // Loaded by every process through NODE_OPTIONS: a worker waits for the file before it starts.
  const gate = join(dir, "gate.mjs");
  writeFileSync(
    gate,
    [
      'import { existsSync, watch } from "node:fs";',
      `const file = ${JSON.stringify(gateFile)};`,
      'if (process.argv[1]?.endsWith("worker.js") && !existsSync(file)) {',
      "  await new Promise((resolve) => {",
      `    const w = watch(${JSON.stringify(dir)}, () => existsSync(file) && (w.close(), resolve()));`,
      "    if (existsSync(file)) (w.close(), resolve());",
      "  });",
      "}",
    ].join("\n"),
  );
  const [fastcgiPort, statusPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      bin,
      "serve",
      "--root",
      fixtures,
      "--workers",
      "1",
      "--listen",
      `127.0.0.1:${fastcgiPort}`,
      "--ping-path",
      "/ping",
      "--status-listen",
      `127.0.0.1:${statusPort}`,
    ],
    { cwd: repo, env: { ...process.env, NODE_OPTIONS: `--import ${gate}` }, stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  t.teardown(() => {
    child.kill("SIGKILL");
    return exited;
  });
  let err = "";
  const seen = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => err.includes(text) && (child.stderr.off("data", onData), resolve());
      const onData = (d: Buffer) => ((err += d.toString()), check());
      child.stderr.on("data", onData);
      child.once("exit", () => reject(new Error(`exited before "${text}":\n${err}`)));
      check();
    });
  await seen(`listening on status 127.0.0.1:${statusPort}`);
  const starting = await get(statusPort, "/ping", "ready");
  t.equal(starting.status, 503, "not ready before a worker is");
  t.match(starting.body, /^not ready: starting/);
  writeFileSync(gateFile, "");
  await seen(`listening on fastcgi 127.0.0.1:${fastcgiPort}`);
  t.same(await get(statusPort, "/ping", "ready"), { status: 200, body: "ready\n" }, "ready once the worker is");
});

t.test("status_listen needs a path to answer, and an address of its own", async (t) => {
  const noPath = cli(["-t", "--status-listen", "127.0.0.1:9101"]);
  t.equal(noPath.code, 2);
  t.match(noPath.err, /status_listen/);
  t.match(noPath.err, /status_path or ping_path/);
  const same = cli(["-t", "--listen", "127.0.0.1:9102", "--status-listen", "127.0.0.1:9102", "--ping-path", "/ping"]);
  t.equal(same.code, 2);
  t.match(same.err, /an address of its own/);
  const ready = cli(["ping", "--ready", "--ping-path", "/ping"]);
  t.equal(ready.code, 2, "ping --ready without status_listen is a usage error");
  t.match(ready.err, /status_listen/);
});
