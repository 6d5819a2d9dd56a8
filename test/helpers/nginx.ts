// A real nginx on a free loopback port, with its config in a temp dir, in front of tscgi.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { onTestExit, scaled } from "./time.ts";

export const nginxBin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p)) ?? null;

/** Why nginx tests are skipped on this machine, or false when nginx is here. In CI it must be here. */
export function nginxMissing(): string | false {
  if (nginxBin) return false;
  if (process.env.CI) throw new Error("nginx is required in CI (.ci/run installs it)");
  return "nginx is not installed (apt-get install nginx-light): skipping tests through nginx";
}

// Started and not yet exited: stopped (SIGTERM, by pid) if the test file exits without its teardown.
const running = new Set<ChildProcess>();
onTestExit(() => {
  for (const child of running) child.kill("SIGTERM");
});

export interface Nginx {
  port: number;
  url: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/** The fastcgi_param lines of conf/nginx.conf, so tests run the snippet users copy. */
function snippetParams(): string {
  const conf = readFileSync(new URL("../../conf/nginx.conf", import.meta.url), "utf8");
  return conf
    .split("\n")
    .filter((l) => l.trim().startsWith("fastcgi_param"))
    .join("\n");
}

/** `fastcgi` is one upstream address, or several (one `server` line each) for a load-balanced upstream. */
export async function startNginx(fastcgi: string | string[], extra = ""): Promise<Nginx> {
  if (!nginxBin) throw new Error("nginx missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-nginx-"));
  const port = await freePort();
  const conf = `
worker_processes 1;
error_log ${dir}/error.log info;
error_log stderr notice;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream tscgi { ${[fastcgi]
    .flat()
    .map((a) => `server ${a};`)
    .join(" ")} keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    client_max_body_size 200m;
    location / {
      fastcgi_pass tscgi;
      fastcgi_keep_conn on;
      fastcgi_request_buffering off;
      fastcgi_buffering off;
${snippetParams()}
      ${extra}
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const test = spawnSync(nginxBin, ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], { encoding: "utf8" });
  if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`);
  const child = spawn(nginxBin, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      running.delete(child);
      resolve();
    }),
  );
  // Ready once the master starts its workers: it has opened the listening socket before that.
  let stderr = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nginx did not start within ${scaled(30_000)} ms:\n${stderr}`)), scaled(30_000));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("start worker process")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`nginx exited at start:\n${stderr}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    errorLog: () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : ""),
    async stop() {
      if (child.exitCode === null) child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), scaled(5000));
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
