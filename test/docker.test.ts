// The Docker image as docs/docker.md runs it, built once: its configuration, tscgi's commands
// through the entrypoint, FastCGI through a host nginx, live edits through the mount, no zombies,
// a healthy HEALTHCHECK, workers sized to the CPU quota, a drain within Docker's stop timeout; then
// compose.yaml and compose.socket.yaml as they are, with podman-compose.
import t from "tap";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { container, containerMissing, containerOk, containerTool, podmanForCompose, waitForLog } from "./helpers/container.ts";
import { nginxMissing } from "./helpers/nginx.ts";
import { freePort } from "./helpers/ports.ts";
import { repo, until } from "./helpers/tscgi.ts";
import { startNginxSite } from "./helpers/web-servers/nginx-site.ts";

const why = containerMissing();
const podmanCompose = spawnSync("sh", ["-c", "command -v podman-compose"]).status === 0;
if (!why && !podmanCompose && process.env.CI) throw new Error("CI must test compose.yaml: podman-compose is missing (.ci/run installs it)");

// An uncached build (npm ci inside the image) takes minutes on a fresh machine, and the compose
// part builds a stand-in nginx image: lift the runner's per-file timeout from .taprc for this file.
if (!why) t.setTimeout(1_200_000);

const image = `tscgi-test-${process.pid}`;

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Reads from a response body until the text contains `want`, or the body ends. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, want: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(want)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

t.test("the image", { skip: why ?? false }, async (t) => {
  // --format docker keeps the HEALTHCHECK, which podman's default OCI format drops.
  await containerOk("build", "--format", "docker", "-q", "-t", image, ".");
  t.teardown(() => void spawnSync(containerTool, ["rmi", "-f", image], { stdio: "ignore" }));

  await t.test("its configuration: non-root, FastCGI only, tini, a HEALTHCHECK, no TSCGI_* env", async (t) => {
    const [inspected] = JSON.parse(await containerOk("inspect", image)) as Array<{
      Config: {
        User: string;
        ExposedPorts: Record<string, unknown>;
        Env: string[];
        Entrypoint: string[];
        Healthcheck?: { Test: string[] };
      };
      Healthcheck?: { Test: string[] };
    }>;
    const config = inspected.Config;
    t.equal(config.User, "node");
    t.same(Object.keys(config.ExposedPorts), ["9000/tcp"], "port 9000 only, no HTTP front");
    t.same(
      config.Env.filter((e) => e.startsWith("TSCGI_")),
      [],
      "no TSCGI_* variable shadows a mounted conf/tscgi.conf",
    );
    t.equal(config.Entrypoint[0], "tini", "tini is PID 1");
    // docker shows it in Config, podman beside it.
    t.match((config.Healthcheck ?? inspected.Healthcheck)?.Test.join(" "), /tscgi ping/);
  });

  await t.test("options and commands go to tscgi; other commands run as given", async (t) => {
    t.match(await containerOk("run", "--rm", image, "-t"), /configuration OK \(\/app\/conf\/tscgi\.conf\)/);
    t.match(await containerOk("run", "--rm", image, "--workers", "4", "--test-config"), /configuration OK/);
    t.match(await containerOk("run", "--rm", image, "--version"), /^tscgi \d+\.\d+\.\d+/);
    const ping = await container("run", "--rm", image, "ping", "--timeout", "2s");
    t.equal(ping.status, 1, "tscgi ping, with no server running");
    t.match(ping.stderr, /127\.0\.0\.1:9000/, "asks the image's listen address");
    const shell = await containerOk(
      "run",
      "--rm",
      image,
      "sh",
      "-c",
      'id -u; command -v tscgi; ls -A cgi-bin | wc -l; stat -c "%U" /run/tscgi',
    );
    t.same(shell.trim().split("\n"), ["1000", "/usr/local/bin/tscgi", "0", "node"], "uid, PATH, an empty cgi-bin, the socket dir's owner");
  });

  await t.test("serving, as deployed", { skip: nginxMissing() }, async (t) => {
    // A host directory of scripts, and a conf/ directory mounted over the image's: the image's own
    // file with only `listen` changed (the host network here has no port 9000 to spare).
    const work = mkdtempSync(join(tmpdir(), "tscgi-image-"));
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const root = join(work, "cgi-bin");
    cpSync(join(repo, "test/fixtures/deploy/cgi-bin"), root, { recursive: true });
    mkdirSync(join(root, "_gates"));
    mkdirSync(join(work, "conf"));
    const port = await freePort();
    const conf = readFileSync(join(repo, "docker/tscgi.conf"), "utf8");
    t.match(conf, /^listen = 0\.0\.0\.0:9000$/m);
    writeFileSync(join(work, "conf", "tscgi.conf"), conf.replace(/^listen = .*$/m, `listen = 127.0.0.1:${port}`));

    const name = `tscgi-test-${process.pid}-serve`;
    // --cpus 1: a CPU quota below the host's cores (the test machine has at least 2).
    await containerOk(
      "run",
      "-d",
      "--name",
      name,
      "--cpus",
      "1",
      "-v",
      `${root}:/app/cgi-bin:ro`,
      "-v",
      `${work}/conf:/app/conf:ro`,
      image,
    );
    t.teardown(() => void spawnSync(containerTool, ["rm", "-f", "-t", "0", name], { stdio: "ignore" }));
    const started = await waitForLog(name, new RegExp(`listening on fastcgi 127\\.0\\.0\\.1:${port}`));
    t.pass("it listens where the mounted conf/tscgi.conf says");
    t.match(started, /pm static, 1 max workers/, "workers = auto follows the CPU quota (--cpus 1)");

    const nginx = await startNginxSite(`127.0.0.1:${port}`);
    t.teardown(() => nginx.stop());

    await t.test("FastCGI through a host nginx", async (t) => {
      const res = await fetch(`${nginx.url}/hello?name=Docker`);
      t.equal(res.status, 200);
      t.equal(await res.text(), "Hello, Docker");
      const env = (await (await fetch(`${nginx.url}/env/a/b`)).json()) as Record<string, string>;
      t.same([env.SCRIPT_NAME, env.PATH_INFO, env.SCRIPT_FILENAME], ["/env", "/a/b", "/app/cgi-bin/env.ts"]);
    });

    await t.test("an edit on the host is live on the next request", async (t) => {
      for (const version of ["one", "two", "three"]) {
        writeFileSync(join(root, "live.ts"), `export default () => "version ${version}";\n`);
        t.equal(await (await fetch(`${nginx.url}/live`)).text(), `version ${version}`);
      }
    });

    await t.test("processes a script leaves behind are reaped: no zombies", async (t) => {
      const { pids } = (await (await fetch(`${nginx.url}/orphans?n=3`)).json()) as { pids: number[] };
      t.equal(pids.length, 3, "three orphans started and exited");
      let zombies: number[] = [];
      const reaped = await until(async () => {
        zombies = ((await (await fetch(`${nginx.url}/zombies`)).json()) as { zombies: number[] }).zombies;
        return zombies.length === 0;
      }, 15_000);
      t.ok(reaped, `no zombies left (still: ${zombies.join(", ")})`);
    });

    await t.test("the HEALTHCHECK passes through a worker's ping path", async (t) => {
      const check = await container("healthcheck", "run", name);
      t.equal(check.status, 0, `healthcheck run: ${check.stdout}${check.stderr}`);
      t.equal((await containerOk("inspect", "--format", "{{.State.Health.Status}}", name)).trim(), "healthy");
      await waitForLog(name, /"GET \/ping" 200/, 10_000);
      t.pass("the ping reached a worker (access log)");
    });

    await t.test("every process runs as the node user", async (t) => {
      const uids = await containerOk("exec", name, "sh", "-c", "cat /proc/[0-9]*/status | awk '/^Uid:/ { print $2 }' | sort -u");
      t.same(uids.trim().split("\n"), ["1000"]);
    });

    await t.test("docker stop drains within the default stop timeout", async (t) => {
      // One request the test lets finish during the drain, and one that never finishes: the
      // second is cut at the image's shutdown_timeout, before the stop timeout's SIGKILL.
      const finishing = (await fetch(`${nginx.url}/stream?gate=drain`)).body!.getReader();
      const stuck = (await fetch(`${nginx.url}/stream?gate=never`)).body!.getReader();
      t.equal(await readUntil(finishing, "first piece\n"), "first piece\n");
      t.equal(await readUntil(stuck, "first piece\n"), "first piece\n");
      const start = Date.now();
      const stopped = container("stop", name);
      // The drain has begun once the listening socket is closed (podman holds the container's
      // lock while it stops it, so its logs cannot be read meanwhile).
      t.ok(await until(async () => !(await accepts(port)), 20_000), "SIGTERM closed the listener");
      writeFileSync(join(root, "_gates", "drain"), "");
      t.equal(await readUntil(finishing, "second piece\n"), "second piece\n", "the request in flight completes");
      const stop = await stopped;
      const seconds = (Date.now() - start) / 1000;
      t.equal(stop.status, 0, `container stop: ${stop.stderr}`);
      const exit = (await containerOk("inspect", "--format", "{{.State.ExitCode}}", name)).trim();
      t.equal(exit, "0", `tscgi exited by itself in ${seconds.toFixed(1)} s, not killed (137) at the stop timeout`);
      // tscgi's own account of the drain, without the engine's stop and clean-up time.
      const logs = await container("logs", name);
      const at = (pattern: RegExp) => Date.parse(pattern.exec(logs.stdout + logs.stderr)?.[1] ?? "");
      const drained = (at(/\[([^\]]+)\] INFO: stopped/) - at(/\[([^\]]+)\] INFO: SIGTERM: stopping gracefully/)) / 1000;
      t.ok(drained < 10, `drained in ${drained.toFixed(1)} s, within Docker's default 10 s stop timeout`);
      t.comment(
        `docker stop with a request stuck: tscgi drained in ${drained.toFixed(1)} s; the stop command took ${seconds.toFixed(1)} s`,
      );
      const rest = await readUntil(stuck, "second piece\n").catch(() => "");
      t.notMatch(rest, /second piece/, "the stuck request was cut");
    });
  });

  await t.test("compose.yaml and compose.socket.yaml", { skip: !podmanCompose && "podman-compose is not installed" }, async (t) => {
    // No registry here: a stand-in for the official nginx image, built from Debian's nginx.
    const nginxImage = `${image}-nginx`;
    await containerOk("build", "-q", "-t", nginxImage, "test/fixtures/nginx-image");
    t.teardown(() => void spawnSync(containerTool, ["rmi", "-f", nginxImage], { stdio: "ignore" }));
    const work = mkdtempSync(join(tmpdir(), "tscgi-compose-"));
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const podman = await podmanForCompose(work);

    for (const [file, listening] of [
      ["compose.yaml", "0.0.0.0:9000"],
      ["compose.socket.yaml", "unix:/run/tscgi/tscgi.sock"],
    ] as const) {
      await t.test(file, async (t) => {
        const project = `tscgitest${process.pid}${file === "compose.yaml" ? "tcp" : "sock"}`;
        const port = await freePort();
        const compose = (...args: string[]) =>
          spawnSync("podman-compose", ["--podman-path", podman, "-p", project, "-f", file, ...args], {
            cwd: repo,
            encoding: "utf8",
            env: {
              ...process.env,
              TSCGI_IMAGE: `localhost/${image}:latest`,
              NGINX_IMAGE: `localhost/${nginxImage}:latest`,
              NGINX_PORT: String(port),
            },
          });
        t.teardown(() => {
          compose("down", "-v", "-t", "0");
          // podman-compose 1.0 leaves the project's network behind.
          spawnSync(containerTool, ["network", "rm", "-f", `${project}_default`], { stdio: "ignore" });
        });
        const up = compose("up", "-d", "--no-build");
        t.equal(up.status, 0, `podman-compose up:\n${up.stdout}${up.stderr}`);
        await waitForLog(`${project}_tscgi_1`, new RegExp(`listening on fastcgi ${listening.replace(/\./g, "\\.")}`));
        // nginx starts beside tscgi (podman-compose does not wait for service_healthy).
        const hello = async () => {
          const res = await fetch(`http://127.0.0.1:${port}/hello?name=Compose`).catch(() => null);
          return res === null ? null : { status: res.status, body: await res.text() };
        };
        let answer: { status: number; body: string } | null = null;
        await until(async () => (answer = await hello()) !== null && answer.status !== 502, 60_000);
        t.same(answer, { status: 200, body: "Hello, Compose" }, "nginx -> tscgi with the repository's cgi-bin mounted");
        const user = await fetch(`http://127.0.0.1:${port}/users/42`);
        t.match(await user.json(), { id: "42" });
      });
    }
  });
});
