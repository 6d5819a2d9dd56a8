// Operating a running pool: the status page (JSON with PHP-FPM's fields, Prometheus text a real
// parser accepts), the ping path, `tscgi ping` / `tscgi status` and their exit codes,
// allowed_clients at accept, Unix socket permissions, --test-config.
import t from "tap";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FcgiClient, parseCgi, requestBytes } from "../helpers/fcgi-client.ts";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { PHP_FPM_POOL_FIELDS } from "../helpers/php-fpm.ts";
import { freePort } from "../helpers/ports.ts";
import { scaled } from "../helpers/time.ts";
import { family, findPython, parseMetrics, pythonMissing } from "../helpers/prometheus.ts";
import { bin, childPids, repo, startTscgi, until } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();
const python = findPython();

/** `tscgi ARGS`; `ping` and `status` wait for an answer as long as a busy machine needs. */
function tscgiCommand(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if ((args[0] === "ping" || args[0] === "status") && !args.includes("--timeout")) args = [...args, "--timeout", `${scaled(5000)}ms`];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: "utf8", timeout: scaled(15_000) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test("status and ping through nginx, and the tscgi ping / status commands", { skip: missing }, async (t) => {
  const { tscgi, nginx } = await poolBehindNginx(t, [
    "--root",
    fixtures,
    "--workers",
    "2",
    "--status-path",
    "/status",
    "--ping-path",
    "/ping",
  ]);
  for (let i = 0; i < 10; i++) await (await fetch(`${nginx.url}/hello`)).text();

  const ping = await fetch(`${nginx.url}/ping`);
  t.equal(ping.status, 200);
  t.equal(await ping.text(), "pong");
  t.match(ping.headers.get("cache-control"), /no-store/);

  // The master learns request counts from the workers' load reports, sent every 50 ms: ask until
  // the 11 requests so far are counted, instead of assuming a report came in time.
  let json: Record<string, unknown> = {};
  const counted = await until(async () => {
    json = (await (await fetch(`${nginx.url}/status?json&full`)).json()) as Record<string, unknown>;
    return (json["accepted conn"] as number) >= 11;
  });
  t.ok(counted, `accepted conn ${String(json["accepted conn"])}`);
  t.same(Object.keys(json).slice(0, PHP_FPM_POOL_FIELDS.length), PHP_FPM_POOL_FIELDS, "PHP-FPM's field names, in its order");
  t.equal(json.pool, "tscgi");
  t.equal(json["process manager"], "static");
  t.equal(json["total processes"], 2);
  t.equal(json["listen queue len"], 511);
  const processes = json.processes as Array<Record<string, unknown>>;
  t.same(processes.map((p) => p.pid).sort(), childPids(tscgi.child.pid!), "?full lists the worker processes by pid");
  t.ok(processes.every((p) => typeof p.requests === "number" && typeof p.state === "string" && "request uri" in p));
  t.ok(processes.some((p) => p["request uri"] === "/hello" || p["request uri"] === "/ping" || p["request uri"] === "/status?json&full"));

  const text = await (await fetch(`${nginx.url}/status`)).text();
  t.match(text, /^pool:\s+tscgi$/m);
  t.match(text, /^total processes:\s+2$/m);

  if (python === null) {
    if (process.env.CI) throw new Error(pythonMissing);
    t.comment(`skipping the metrics parser check: ${pythonMissing}`);
  } else {
    for (const mode of ["prometheus", "openmetrics"] as const) {
      const res = await fetch(`${nginx.url}/status?${mode}&full`);
      const body = await res.text();
      const families = parseMetrics(python, mode, body);
      t.equal(family(families, "tscgi_up").samples[0].value, 1, `${mode}: tscgi_up parsed`);
      const total = family(families, "tscgi_total_processes").samples[0].value;
      t.equal(total, 2, `${mode}: two processes`);
      t.match(res.headers.get("content-type"), mode === "openmetrics" ? /openmetrics/ : /version=0\.0\.4/);
    }
  }

  const listen = `127.0.0.1:${tscgi.fastcgiPort}`;
  const pinged = tscgiCommand(["ping", "--listen", listen, "--ping-path", "/ping"]);
  t.equal(pinged.status, 0, `tscgi ping exits 0 (${pinged.stderr})`);
  t.equal(pinged.stdout.trim(), "pong");
  const status = tscgiCommand(["status", "--json", "--listen", listen, "--status-path", "/status"]);
  t.equal(status.status, 0, `tscgi status exits 0 (${status.stderr})`);
  t.equal((JSON.parse(status.stdout) as Record<string, unknown>)["total processes"], 2);
  const values = tscgiCommand(["ping", "--listen", listen]);
  t.equal(values.status, 0, "without ping_path, FCGI_GET_VALUES shows the server answers");
  const dead = tscgiCommand(["ping", "--listen", `127.0.0.1:${await freePort()}`, "--ping-path", "/ping", "--timeout", "2s"]);
  t.equal(dead.status, 1, "tscgi ping exits 1 when nothing answers");
  t.match(dead.stderr, /127\.0\.0\.1/);
});

t.test("the status page answers only status_allowed_clients", async (t) => {
  const tscgi = await startTscgi([
    "--root",
    fixtures,
    "--workers",
    "1",
    "--status-path",
    "/status",
    "--status-allowed-clients",
    "10.9.9.9",
  ]);
  t.teardown(() => tscgi.stop());
  const res = await fetch(`http://127.0.0.1:${tscgi.httpPort}/status`);
  t.equal(res.status, 403);
  t.match(await res.text(), /status_allowed_clients/);
});

t.test("allowed_clients refuses other peers at accept", async (t) => {
  const refused = await startTscgi(["--root", fixtures, "--workers", "1", "--allowed-clients", "10.1.2.3, 2001:db8::/32"]);
  t.teardown(() => refused.stop());
  const client = new FcgiClient(refused.fastcgiPort);
  client.send(requestBytes(1, { REQUEST_METHOD: "GET", REQUEST_URI: "/hello", SCRIPT_NAME: "/hello" }));
  await client.closed;
  t.equal(client.responses.size, 0, "the connection is closed without an answer");
  await refused.waitFor(/connection from 127\.0\.0\.1 refused: not in allowed_clients/);

  const allowed = await startTscgi(["--root", fixtures, "--workers", "1", "--allowed-clients", "::1 127.0.0.0/8"]);
  t.teardown(() => allowed.stop());
  const ok = new FcgiClient(allowed.fastcgiPort);
  ok.send(requestBytes(1, { REQUEST_METHOD: "GET", REQUEST_URI: "/hello", SCRIPT_NAME: "/hello" }));
  await ok.until(() => ok.responses.get(1)?.done === true);
  t.equal(parseCgi(ok.responses.get(1)!.stdout).body, "Hello, world");
  ok.socket.destroy();
});

t.test("a Unix socket gets listen_mode and listen_owner / listen_group", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-sock-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "tscgi.sock");
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? ["--listen-owner", "nobody", "--listen-group", "nogroup"] : [];
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1", "--listen-mode", "0600", ...owner], { listen: path });
  t.teardown(() => tscgi.stop());
  const stat = statSync(path);
  t.equal(stat.mode & 0o777, 0o600, "mode 0600");
  if (asRoot) {
    const nobody = Number(spawnSync("id", ["-u", "nobody"], { encoding: "utf8" }).stdout.trim());
    t.equal(stat.uid, nobody, "owned by nobody");
  } else {
    t.comment("not root: listen_owner / listen_group not tried");
  }
  const answered = await new Promise<boolean>((resolve) => {
    const socket = connect(path, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
  t.ok(answered, "the socket accepts connections");
  await tscgi.stop();
  t.throws(() => statSync(path), "the socket file is removed on exit");
});

t.test("tscgi --test-config: 0 for a good config, 2 naming the key for a bad one", async (t) => {
  const good = tscgiCommand(["--test-config", "--root", fixtures]);
  t.equal(good.status, 0);
  t.match(good.stdout, /configuration OK/);
  const bad = tscgiCommand(["-t", "--root", fixtures, "--pm", "sometimes"]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /pm/);
  t.match(bad.stderr, /sometimes/);
  t.match(bad.stderr, /static/);
});
