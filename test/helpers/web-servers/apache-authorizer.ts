// A real Apache httpd running conf/apache.conf and, beside it, conf/apache-authorizer.conf, as
// users include them, on a loopback port in front of a tscgi at `upstream`.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../ports.ts";
import { startServerProcess, type ServerProcess } from "./process.ts";
import { readSnippet } from "./snippet.ts";

const apacheBin = ["/usr/sbin/apache2", "/usr/sbin/httpd"].find((p) => existsSync(p)) ?? null;
const modules = ["/usr/lib/apache2/modules", "/usr/lib64/httpd/modules"].find((p) => existsSync(join(p, "mod_authnz_fcgi.so"))) ?? null;

/** Why these tests are skipped here, or false when Apache with mod_authnz_fcgi is installed. In CI it must be. */
export function apacheAuthorizerMissing(): string | false {
  if (apacheBin && modules) return false;
  if (process.env.CI) throw new Error("Apache httpd with mod_authnz_fcgi is required in CI (.ci/run installs apache2)");
  return "Apache httpd with mod_authnz_fcgi is not installed (apt-get install apache2): skipping";
}

export async function startApacheAuthorizerSite(upstream: string): Promise<ServerProcess> {
  if (!apacheBin || !modules) throw new Error("apache missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-apache-authz-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  mkdirSync(join(dir, "public", "static"), { recursive: true });
  const site = readSnippet("apache.conf", {
    "*:80": `*:${port}`,
    "example.com": "localhost",
    "/srv/www/public": join(dir, "public"),
    "127.0.0.1:9000": upstream,
  });
  const authorizer = readSnippet("apache-authorizer.conf", { "127.0.0.1:9000": upstream });
  writeFileSync(join(dir, "site.conf"), `${site}\n${authorizer}`);
  const load = (name: string) => `LoadModule ${name}_module ${modules}/mod_${name}.so`;
  writeFileSync(
    join(dir, "httpd.conf"),
    `${["mpm_event", "authn_core", "authz_core", "authz_user", "proxy", "proxy_fcgi", "authnz_fcgi"].map(load).join("\n")}
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
