// The container tool (podman with this machine's settings, docker-compatible commands) for the
// image and compose tests: run a command, wait for a container's log line, and podman-compose.
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repo } from "./tscgi.ts";

/**
 * Beside the checkout (../shared/tools), else where this machine keeps it, else CONTAINER_TOOL:
 * a clone may live anywhere, and .ci/run exports the path it found.
 */
export const containerTool =
  process.env.CONTAINER_TOOL ??
  [join(repo, "..", "shared", "tools", "container"), "/work/shared/tools/container"].find((p) => existsSync(p)) ??
  join(repo, "..", "shared", "tools", "container");

/** Why the container tests are skipped here, or null when they can run. In CI they must. */
export function containerMissing(): string | null {
  const why = !existsSync(containerTool)
    ? `no container tool at ${containerTool}: skipping the image test`
    : spawnSync("sh", ["-c", "command -v podman"]).status !== 0
      ? "podman is not installed (run `container setup node:24-slim`): skipping the image test"
      : null;
  if (why && process.env.CI) throw new Error(`CI must test the image: ${why}`);
  return why;
}

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the tool and resolves with its exit status and output (never rejects on a failure exit). */
export function container(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(containerTool, args, { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

/** Like container(), but a failure exit rejects with the command's output. */
export async function containerOk(...args: string[]): Promise<string> {
  const result = await container(...args);
  if (result.status !== 0) throw new Error(`container ${args.join(" ")} exited ${result.status}:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Waits until the container's log (stdout and stderr) matches, or it stops, or `ms` pass. */
export async function waitForLog(name: string, pattern: RegExp, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const logs = await container("logs", name);
    const text = logs.stdout + logs.stderr;
    if (pattern.test(text)) return text;
    const running = (await container("inspect", "--format", "{{.State.Running}}", name)).stdout.trim();
    if (running !== "true" || Date.now() > end) {
      throw new Error(`${name}: ${pattern} not in its log (${running === "true" ? `after ${ms} ms` : "it stopped"}):\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * A `podman` for podman-compose with the tool's storage, cgroup manager, runtime and limits, but
 * without the tool's host network: compose gives each project its own network, as docker does.
 */
export async function podmanForCompose(dir: string): Promise<string> {
  const format = "{{.Store.GraphRoot}}|{{.Store.RunRoot}}|{{.Store.GraphDriverName}}|{{.Host.CgroupManager}}|{{.Host.OCIRuntime.Name}}";
  const [root, runRoot, driver, cgroups, runtime] = (await containerOk("info", "--format", format)).trim().split("|");
  const path = join(dir, "podman");
  writeFileSync(
    path,
    `#!/bin/sh
G="--root ${root} --runroot ${runRoot} --storage-driver ${driver} --cgroup-manager ${cgroups} --runtime ${runtime}"
case "$1" in
  run|create) sub=$1; shift; exec podman $G "$sub" --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 "$@" ;;
esac
exec podman $G "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}
