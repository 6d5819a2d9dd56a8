// What every web server in front of tscgi must get right, checked the same way for each: a script,
// PATH_INFO, a POST body, a streamed response arriving in pieces, a 404 and a private path refused.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { Test } from "tap";
import { freePort } from "../ports.ts";
import { bin, repo } from "../tscgi.ts";

const fixtures = new URL("../../fixtures/deploy/cgi-bin/", import.meta.url);

export interface FixtureTscgi {
  /** The script root, a copy of test/fixtures/deploy/cgi-bin. */
  root: string;
  /** What the web server's config names as the upstream: 127.0.0.1:PORT or the socket path. */
  address: string;
  fastcgiPort: number;
  /** tscgi's HTTP front, to see what it serves without the web server. */
  httpPort: number;
  /** Everything tscgi wrote so far: its access log (stdout) and error log (stderr). */
  output(): string;
  /** Resolves once the output contains `text`; rejects after `ms`. */
  waitFor(text: string, ms?: number): Promise<void>;
}

/**
 * tscgi serving a copy of the deploy fixtures with one worker process (the pool as deployed,
 * light on a shared machine), stopped by its pid at the end of the test. Start-up may take
 * long on a busy machine: it is bounded at 60 s.
 */
export async function startFixtureTscgi(t: Test, args: string[] = [], listen?: string): Promise<FixtureTscgi> {
  const root = mkdtempSync(join(tmpdir(), "tscgi-deploy-root-"));
  cpSync(fixtures, root, { recursive: true });
  mkdirSync(join(root, "_gates"));
  const fastcgiPort = listen ? 0 : await freePort();
  const httpPort = await freePort();
  const address = listen ?? `127.0.0.1:${fastcgiPort}`;
  // A short drain: a web server that pools connections (Apache) may hold them past the test.
  const argv = [bin, "serve", "--listen", address, "--http", `127.0.0.1:${httpPort}`, "--root", root];
  // The status page on, open to any client: only the web server's own rule keeps it in.
  const status = ["--status-path", "/status", "--status-allowed-clients", "any"];
  const child = spawn(process.execPath, [...argv, "--workers", "1", "--shutdown-timeout", "2s", ...status, ...args], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(root, { recursive: true, force: true });
  });
  const waitFor = (text: string, ms = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!out.includes(text)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no "${text}" in tscgi's output within ${ms} ms:\n${out}`));
      }, ms);
      waiters.add(check);
      check();
    });
  await waitFor(`listening on http 127.0.0.1:${httpPort}`, 60_000);
  return { root, address, fastcgiPort, httpPort, output: () => out, waitFor };
}

let gates = 0;

/** Reads from `reader` until the text so far contains `want`; rejects after `ms` with `why`. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, want: string, ms: number, why: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)));
  try {
    while (!text.includes(want)) {
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return text;
}

/**
 * The six checks through `base` (the web server's URL), with scripts under `prefix` ("" or
 * "/app"). `refusedBy` says how the server refuses a private path (nginx and Caddy 404, Apache and
 * lighttpd 403); the request must never reach tscgi.
 */
export async function checkSite(t: Test, base: string, site: FixtureTscgi, options: { prefix?: string; refusedBy?: number } = {}) {
  const prefix = options.prefix ?? "";

  await t.test("a script answers", async (t) => {
    const res = await fetch(`${base}${prefix}/hello?name=Ada`);
    t.equal(res.status, 200);
    t.equal(await res.text(), "Hello, Ada");
  });

  await t.test("SCRIPT_NAME and PATH_INFO come out right", async (t) => {
    const res = await fetch(`${base}${prefix}/env/a/b%20c?q=1`);
    t.equal(res.status, 200);
    const env = (await res.json()) as Record<string, string>;
    t.equal(env.SCRIPT_NAME, `${prefix}/env`);
    t.equal(env.PATH_INFO, "/a/b c");
    t.equal(env.QUERY_STRING, "q=1");
  });

  await t.test("a POST body reaches the script whole", async (t) => {
    // 1 MiB: more than any server's in-memory body buffer, so spooling is exercised too.
    const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 251);
    const res = await fetch(`${base}${prefix}/echo`, {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream" },
    });
    t.equal(res.status, 200);
    t.same(await res.json(), {
      method: "POST",
      bytes: body.byteLength,
      sha256: createHash("sha256").update(body).digest("hex"),
      head: new TextDecoder().decode(body.subarray(0, 32)),
    });
  });

  await t.test("a streamed response arrives in pieces", async (t) => {
    const gate = `g${process.pid}-${++gates}`;
    // Headers come with the first piece: a server that buffers holds both.
    const res = await fetch(`${base}${prefix}/stream?gate=${gate}`, { signal: AbortSignal.timeout(20_000) }).catch(() => {
      throw new Error("the first piece did not arrive while the script ran: the server buffers the response");
    });
    t.equal(res.status, 200);
    const reader = res.body!.getReader();
    // The script holds the second piece until the gate file exists, so the first piece can only
    // arrive here now if the web server passes it on while the script runs.
    const first = await readUntil(
      reader,
      "first piece\n",
      20_000,
      "the first piece did not arrive while the script ran: the server buffers the response",
    );
    t.equal(first, "first piece\n", "the first piece, and only it, while the script waits");
    writeFileSync(join(site.root, "_gates", gate), "");
    const rest = await readUntil(reader, "second piece\n", 20_000, "the second piece did not arrive");
    t.equal(rest, "second piece\n");
    t.ok((await reader.read()).done, "then the response ends");
  });

  await t.test("a missing script is a 404", async (t) => {
    const res = await fetch(`${base}${prefix}/nope`);
    t.equal(res.status, 404);
    await res.arrayBuffer();
  });

  await t.test("a private path is refused by the web server", async (t) => {
    const res = await fetch(`${base}${prefix}/_private/secret`);
    t.equal(res.status, options.refusedBy ?? 404);
    t.notMatch(await res.text(), /SECRET/);
    // A request after it, once logged, shows the access log is written up to here (one worker).
    const marker = `after-private-${++gates}`;
    await (await fetch(`${base}${prefix}/hello?name=${marker}`)).text();
    await site.waitFor(marker);
    t.notMatch(site.output(), /_private/, "the request never reached tscgi");
  });

  await t.test("tscgi's status page is refused by the web server", { skip: prefix !== "" && "served at /status only" }, async (t) => {
    const res = await fetch(`${base}/status`);
    t.equal(res.status, options.refusedBy ?? 404);
    t.notMatch(await res.text(), /accepted conn/);
    const direct = await fetch(`http://127.0.0.1:${site.httpPort}/status`);
    t.match(await direct.text(), /accepted conn/, "while tscgi itself serves it");
  });
}
