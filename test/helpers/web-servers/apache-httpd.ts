// A real Apache httpd running conf/apache.conf as users Include it, on a loopback port.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../ports.ts";
import { startServerProcess, type ServerProcess } from "./process.ts";
import { readSnippet } from "./snippet.ts";

const apacheBin = ["/usr/sbin/apache2", "/usr/sbin/httpd"].find((p) => existsSync(p)) ?? null;
const modules = ["/usr/lib/apache2/modules", "/usr/lib64/httpd/modules"].find((p) => existsSync(join(p, "mod_proxy_fcgi.so"))) ?? null;

/** Why Apache tests are skipped here, or false when it is installed. In CI it must be. */
export function apacheHttpdMissing(): string | false {
  if (apacheBin && modules) return false;
  if (process.env.CI) throw new Error("Apache httpd with mod_proxy_fcgi is required in CI (.ci/run installs apache2)");
  return "Apache httpd is not installed (apt-get install apache2): skipping tests through Apache";
}

/** `upstream`: what replaces 127.0.0.1:9000; `prefix`: the URL prefix ProxyPass mounts, "/" or "/app/". */
export async function startApacheSite(upstream: string, prefix = "/"): Promise<ServerProcess> {
  if (!apacheBin || !modules) throw new Error("apache missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-apache-site-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  mkdirSync(join(dir, "public", "static"), { recursive: true });
  const site = readSnippet("apache.conf", {
    "*:80": `*:${port}`,
    "example.com": "localhost",
    "/srv/www/public": join(dir, "public"),
    'ProxyPass "/" "fcgi://127.0.0.1:9000/"': `ProxyPass "${prefix}" "fcgi://${upstream}/"`,
  });
  writeFileSync(join(dir, "site.conf"), site);
  const load = (name: string) => `LoadModule ${name}_module ${modules}/mod_${name}.so`;
  writeFileSync(
    join(dir, "httpd.conf"),
    `${["mpm_event", "authz_core", "proxy", "proxy_fcgi"].map(load).join("\n")}
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
ThreadsPerChild 16
MaxRequestWorkers 16
Include ${dir}/site.conf
`,
  );
  return startServerProcess("apache2", apacheBin, ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], {
    port,
    dir,
    logFiles: [join(dir, "error.log")],
  });
}
