// The Docker image builds, starts, and answers on its HTTP front and, through nginx, on FastCGI.
import t from "tap";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { nginxMissing, startNginx } from "./helpers/nginx.ts";
import { freePort } from "./helpers/ports.ts";
import { scaled } from "./helpers/time.ts";
import { repo } from "./helpers/tscgi.ts";

// Machines without a Docker daemon build and run the image with podman through this tool.
const tool = join(repo, "..", "shared", "tools", "container");
const podman = spawnSync("sh", ["-c", "command -v podman"]).status === 0;
const why = !existsSync(tool)
  ? `no container tool at ${tool}: skipping the image test`
  : !podman
    ? "podman is not installed (run `container setup node:24-slim`): skipping the image test"
    : null;

if (why && process.env.CI) throw new Error(`CI must test the image: ${why}`);

// An uncached build (npm ci inside the image) takes minutes on a fresh machine: lift the runner's
// per-file timeout from .taprc for this file; the option on t.test alone does not reach the runner.
if (!why) t.setTimeout(600_000);

t.test("the image starts and answers", { skip: why ?? false, timeout: 600_000 }, async (t) => {
  const name = `tscgi-test-${process.pid}`;
  const run = (...args: string[]) => execFileSync(tool, args, { cwd: repo, encoding: "utf8", stdio: "pipe" });
  run("build", "-q", "-t", "tscgi-test", ".");
  const http = await freePort();
  const fastcgi = await freePort();
  run("run", "-d", "--name", name, "-e", `TSCGI_HTTP=127.0.0.1:${http}`, "-e", `TSCGI_LISTEN=127.0.0.1:${fastcgi}`, "tscgi-test");
  t.teardown(() => {
    spawnSync(tool, ["rm", "-f", name], { stdio: "ignore" });
  });
  // No event tells when the container listens: ask until it answers, within a generous bound.
  let body = "";
  const deadline = Date.now() + scaled(60_000);
  while (body === "" && Date.now() < deadline) {
    try {
      body = await (await fetch(`http://127.0.0.1:${http}/hello?name=Docker`)).text();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.equal(body, "Hello, Docker", "the HTTP front answers");
  const logs = spawnSync(tool, ["logs", name], { encoding: "utf8" });
  t.match(logs.stdout + logs.stderr, /listening on fastcgi/, "the start-up line is in the container log");
  t.match(logs.stdout + logs.stderr, /pm static, \d+ max workers/, "the image runs the worker pool");
  // The HEALTHCHECK command, run inside the container.
  const health = spawnSync(tool, ["exec", name, "node", "bin/tscgi.js", "ping", "--timeout", "3s"], { encoding: "utf8" });
  t.equal(health.status, 0, `tscgi ping in the container exits 0 (${health.stdout}${health.stderr})`);
  if (!nginxMissing()) {
    const nginx = await startNginx(`127.0.0.1:${fastcgi}`);
    t.teardown(() => nginx.stop());
    const res = await fetch(`${nginx.url}/users/42`);
    t.equal(res.status, 200, "nginx reaches the container over FastCGI");
    t.match(await res.json(), { id: "42" });
  }
});
