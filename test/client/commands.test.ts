// `tscgi ping` and `tscgi status` against an in-process FastCGI responder, over TCP and a Unix socket.
import t from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPing, runStatus, requestParams, type ClientConfig } from "../../src/client/commands.ts";
import type { FcgiRequest } from "../../src/fastcgi/request.ts";
import { renderStatus } from "../../src/pool/status.ts";
import type { PoolStatus } from "../../src/pool/status-snapshot.ts";
import { freePort } from "../helpers/ports.ts";
import { Captured, respond, startResponder, type Responder } from "./responder.ts";

const snapshot: PoolStatus = {
  pool: "tscgi",
  processManager: "static",
  startTime: Date.UTC(2024, 0, 1),
  now: Date.UTC(2024, 0, 1, 0, 1),
  acceptedConn: 12,
  listenQueue: 0,
  maxListenQueue: 0,
  listenQueueLen: 511,
  idleProcesses: 2,
  activeProcesses: 0,
  totalProcesses: 2,
  maxActiveProcesses: 1,
  maxChildrenReached: 0,
  slowRequests: 0,
  rejectedRequests: 0,
  workerRestarts: 0,
  maxConnectionsReached: 0,
  processes: [
    {
      pid: 101,
      state: "Idle",
      startTime: Date.UTC(2024, 0, 1),
      requests: 6,
      requestDuration: 900,
      requestMethod: "GET",
      requestUri: "/hello",
      contentLength: 0,
      user: "-",
      script: "/srv/cgi-bin/hello.ts",
      lastRequestCpu: 0,
      lastRequestMemory: 1024,
    },
  ],
};

/** What a tscgi with ping and status enabled answers. */
function pool(request: FcgiRequest): void {
  const path = request.params.DOCUMENT_URI;
  if (path === "/ping") respond(request, "200 OK", "pong");
  else if (path === "/status") {
    const page = renderStatus(snapshot, request.params.QUERY_STRING ?? "", request.params.HTTP_ACCEPT);
    respond(request, "200 OK", page.body, { "Content-Type": page.contentType });
  } else respond(request, "404 Not Found", "File not found.");
}

function config(listen: string, overrides: Partial<ClientConfig> = {}): ClientConfig {
  return { listen, ping_path: "/ping", ping_response: "pong", status_path: "/status", status_listen: null, ...overrides };
}

async function run(command: typeof runPing, cfg: ClientConfig, args: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const out = new Captured();
  const err = new Captured();
  const code = await command(cfg, args, out, err);
  return { code, out: out.text, err: err.text };
}

let tcp: Responder;
t.before(async () => {
  tcp = await startResponder("127.0.0.1", pool);
});
t.teardown(() => tcp.close());

t.test("ping: 200 with ping_response prints it and exits 0", async (t) => {
  const before = tcp.requests.length;
  t.same(await run(runPing, config(tcp.listen)), { code: 0, out: "pong\n", err: "" });
  const params = tcp.requests[before];
  t.match(params, {
    REQUEST_METHOD: "GET",
    SCRIPT_NAME: "/ping",
    REQUEST_URI: "/ping",
    DOCUMENT_URI: "/ping",
    QUERY_STRING: "",
    REMOTE_ADDR: "127.0.0.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    GATEWAY_INTERFACE: "CGI/1.1",
  });
});

t.test("ping over a Unix socket", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-ping-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const unix = await startResponder(join(dir, "tscgi.sock"), pool);
  t.teardown(unix.close);
  t.same(await run(runPing, config(unix.listen)), { code: 0, out: "pong\n", err: "" });
  t.equal((await run(runStatus, config(unix.listen), ["--json"])).code, 0);
});

t.test("ping: a custom ping_response is what is expected", async (t) => {
  const r = await run(runPing, config(tcp.listen, { ping_response: "I am alive" }));
  t.equal(r.code, 1);
  t.equal(r.out, "");
  t.equal(r.err, `tscgi ping: ${tcp.listen} /ping answered "pong", expected "I am alive" (ping_response)\n`);
});

t.test("ping: a status other than 200 exits 1 with a hint", async (t) => {
  const r = await run(runPing, config(tcp.listen, { ping_path: "/elsewhere" }));
  t.equal(r.code, 1);
  t.match(r.err, `tscgi ping: ${tcp.listen} /elsewhere answered 404 Not Found with "File not found."; is ping_path the same`);
});

t.test("ping: a refused port exits 1 naming the address", async (t) => {
  const port = await freePort();
  const r = await run(runPing, config(`127.0.0.1:${port}`));
  t.equal(r.code, 1);
  t.equal(r.out, "");
  t.match(r.err, `tscgi ping: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
});

t.test("ping: no answer within --timeout exits 1", async (t) => {
  const stuck = await startResponder("127.0.0.1", () => {});
  t.teardown(stuck.close);
  const started = Date.now();
  const r = await run(runPing, config(stuck.listen), ["--timeout", "200ms"]);
  t.equal(r.code, 1);
  t.match(r.err, `tscgi ping: no answer from ${stuck.listen} within 200 ms`);
  // Only a lower bound: it waited for the timeout, however late a busy machine let it give up.
  t.ok(Date.now() - started >= 190, "waited for the timeout before giving up");
  t.equal((await run(runPing, config(stuck.listen), ["--timeout=0.1"])).code, 1, "--timeout=SECONDS works too");
});

t.test("ping with ping_path off falls back to FCGI_GET_VALUES and says so", async (t) => {
  const before = tcp.requests.length;
  const r = await run(runPing, config(tcp.listen, { ping_path: null }));
  t.equal(r.code, 0);
  t.equal(r.err, "");
  t.match(r.out, `pong: ${tcp.listen} answered FCGI_GET_VALUES (FCGI_MAX_CONNS=1024 FCGI_MAX_REQS=100 FCGI_MPXS_CONNS=1)`);
  t.match(r.out, "ping_path is off");
  t.equal(tcp.requests.length, before, "no request was run");

  const port = await freePort();
  const down = await run(runPing, config(`127.0.0.1:${port}`, { ping_path: null }));
  t.equal(down.code, 1);
  t.match(down.err, `cannot connect to 127.0.0.1:${port}`);
});

t.test("ping: bad arguments exit 2", async (t) => {
  let r = await run(runPing, config(tcp.listen), ["--timeout", "soon"]);
  t.equal(r.code, 2);
  t.match(r.err, 'tscgi ping: --timeout "soon" is not a duration');
  r = await run(runPing, config(tcp.listen), ["--timeout"]);
  t.equal(r.code, 2);
  r = await run(runPing, config(tcp.listen), ["--json"]);
  t.equal(r.code, 2);
  t.match(r.err, 'tscgi ping: unknown argument "--json"; options: --timeout DURATION');
});

t.test("status: off in the config is a usage error, exit 2", async (t) => {
  const r = await run(runStatus, config(tcp.listen, { status_path: null }));
  t.equal(r.code, 2);
  t.match(r.err, "tscgi status: status_path is off");
  t.match(r.err, "status_path = /status");
});

t.test("status: the text page by default", async (t) => {
  const before = tcp.requests.length;
  const r = await run(runStatus, config(tcp.listen));
  t.equal(r.code, 0);
  t.equal(r.out, renderStatus(snapshot, "").body);
  t.match(tcp.requests[before], { SCRIPT_NAME: "/status", REQUEST_URI: "/status", QUERY_STRING: "" });
});

t.test("status: --json --full is passed as the query json&full", async (t) => {
  const before = tcp.requests.length;
  const r = await run(runStatus, config(tcp.listen), ["--full", "--json"]);
  t.equal(r.code, 0);
  t.match(tcp.requests[before], { QUERY_STRING: "json&full", REQUEST_URI: "/status?json&full" });
  const body = JSON.parse(r.out) as { pool: string; processes: { pid: number }[] };
  t.equal(body.pool, "tscgi");
  t.equal(body.processes[0].pid, 101);
  t.ok(r.out.endsWith("}\n"), "a newline is added for the terminal");
});

t.test("status: words work as well as flags", async (t) => {
  const before = tcp.requests.length;
  t.equal((await run(runStatus, config(tcp.listen), ["json", "full"])).code, 0);
  t.equal(tcp.requests[before].QUERY_STRING, "json&full");
});

t.test("status: --prometheus and --openmetrics pass the metrics through", async (t) => {
  const prom = await run(runStatus, config(tcp.listen), ["--prometheus"]);
  t.equal(prom.code, 0);
  t.equal(prom.out, renderStatus(snapshot, "prometheus").body);
  t.match(prom.out, /^# TYPE tscgi_accepted_connections_total counter$/m);
  const om = await run(runStatus, config(tcp.listen), ["--openmetrics", "--full"]);
  t.equal(om.code, 0);
  t.equal(om.out, renderStatus(snapshot, "openmetrics&full").body);
  t.ok(om.out.endsWith("# EOF\n"));
  t.match(om.out, /tscgi_process_requests_total\{pid="101"\} 6/);
});

t.test("status: two formats at once is a usage error", async (t) => {
  const r = await run(runStatus, config(tcp.listen), ["--json", "--prometheus"]);
  t.equal(r.code, 2);
  t.match(r.err, "choose one of --json, --prometheus, --openmetrics");
});

t.test("status: a status other than 200 exits 1", async (t) => {
  const denied = await startResponder("127.0.0.1", (request) => respond(request, "403 Forbidden", "Access denied."));
  t.teardown(denied.close);
  const r = await run(runStatus, config(denied.listen));
  t.equal(r.code, 1);
  t.equal(r.out, "");
  t.match(
    r.err,
    `tscgi status: ${denied.listen} /status answered 403 Forbidden with "Access denied."; status_allowed_clients must admit 127.0.0.1`,
  );
});

t.test("status: a refused port and a timeout exit 1", async (t) => {
  const port = await freePort();
  const refused = await run(runStatus, config(`127.0.0.1:${port}`));
  t.equal(refused.code, 1);
  t.match(refused.err, `tscgi status: cannot connect to 127.0.0.1:${port}`);
  const stuck = await startResponder("127.0.0.1", () => {});
  t.teardown(stuck.close);
  const timedOut = await run(runStatus, config(stuck.listen), ["--timeout", "150ms"]);
  t.equal(timedOut.code, 1);
  t.match(timedOut.err, "within 150 ms");
});

t.test("request params carry the query in REQUEST_URI only when there is one", async (t) => {
  t.match(requestParams("/status", ""), { REQUEST_URI: "/status", QUERY_STRING: "" });
  t.match(requestParams("/status", "json"), { REQUEST_URI: "/status?json", QUERY_STRING: "json", DOCUMENT_URI: "/status" });
});
