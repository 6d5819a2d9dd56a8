// A real Apache httpd (mod_proxy_fcgi) on a free loopback port, with its config in a temp dir, in front of tscgi.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { scaled } from "./time.ts";

const apacheBin = ["/usr/sbin/apache2", "/usr/sbin/httpd"].find((p) => existsSync(p)) ?? null;
const modules = ["/usr/lib/apache2/modules", "/usr/lib64/httpd/modules"].find((p) => existsSync(join(p, "mod_proxy_fcgi.so"))) ?? null;

/** Why Apache tests are skipped on this machine, or false when Apache is here. In CI it must be here. */
export function apacheMissing(): string | false {
  if (apacheBin && modules) return false;
  if (process.env.CI) throw new Error("Apache httpd with mod_proxy_fcgi is required in CI (.ci/run installs apache2)");
  return "Apache httpd is not installed (apt-get install apache2): skipping tests through Apache";
}

export interface Apache {
  url: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/** `proxy`: the ProxyPass line(s), e.g. `ProxyPass "/" "fcgi://127.0.0.1:9000/" enablereuse=on`. */
export async function startApache(proxy: string): Promise<Apache> {
  if (!apacheBin || !modules) throw new Error("apache missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-apache-"));
  const port = await freePort();
  const load = (name: string) => `LoadModule ${name}_module ${modules}/mod_${name}.so`;
  const conf = `
${load("mpm_event")}
${load("authz_core")}
${load("proxy")}
${load("proxy_fcgi")}
ServerName localhost
ServerRoot ${dir}
DefaultRuntimeDir ${dir}
PidFile ${dir}/httpd.pid
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
User nobody
Group nogroup
Listen 127.0.0.1:${port}
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
${proxy}
`;
  writeFileSync(join(dir, "httpd.conf"), conf);
  const test = spawnSync(apacheBin, ["-t", "-f", join(dir, "httpd.conf")], { encoding: "utf8" });
  if (test.status !== 0) throw new Error(`apache -t failed:\n${test.stderr}`);
  const child = spawn(apacheBin, ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let up = false;
  child.once("exit", () => (up = false));
  // Ready when the port accepts connections (or the process is gone).
  // Probed until it answers or exits; the deadline is a safety net, scaled on a busy machine.
  const deadline = Date.now() + scaled(30_000);
  while (child.exitCode === null && !up && Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/__apache_ready_probe`);
      up = true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const errorLog = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "");
  if (!up) throw new Error(`apache did not start:\n${errorLog()}`);
  return {
    url: `http://127.0.0.1:${port}`,
    errorLog,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
