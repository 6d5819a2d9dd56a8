// A real redis-server on a free loopback port, persisting nothing, for the session store tests.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";

const redisBin = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"].find((p) => existsSync(p)) ?? null;

/** Why Redis tests are skipped on this machine, or false when redis-server is here. In CI it must be here. */
export function redisMissing(): string | false {
  if (redisBin) return false;
  if (process.env.CI) throw new Error("redis-server is required in CI (.ci/run installs it)");
  return "redis-server is not installed (apt-get install redis-server): skipping the Redis session store tests";
}

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server and resolves once it logs that it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  if (!redisBin) throw new Error("redis-server missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-redis-"));
  const port = await freePort();
  const child = spawn(redisBin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 30 s:\n${output}`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  child.stdout.resume();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
