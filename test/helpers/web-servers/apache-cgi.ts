// A real Apache httpd running conf/apache-cgi.conf (mod_cgid) and conf/tscgi.cgi as users install
// them: tscgi runs once per request, as the CGI user, from this checkout.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "../ports.ts";
import { bin } from "../tscgi.ts";
import { startServerProcess, type ServerProcess } from "./process.ts";
import { readSnippet } from "./snippet.ts";

const apacheBin = ["/usr/sbin/apache2", "/usr/sbin/httpd"].find((p) => existsSync(p)) ?? null;
const modules = ["/usr/lib/apache2/modules", "/usr/lib64/httpd/modules"].find((p) => existsSync(join(p, "mod_cgid.so"))) ?? null;

/** Why these tests are skipped here, or false when Apache with mod_cgid is installed. In CI it must be. */
export function apacheCgiMissing(): string | false {
  if (!apacheBin || !modules) {
    if (process.env.CI) throw new Error("Apache httpd with mod_cgid is required in CI (.ci/run installs apache2)");
    return "Apache httpd with mod_cgid is not installed (apt-get install apache2): skipping";
  }
  const closed = closedAncestor(bin);
  if (closed) {
    return `the CGI user (nobody) cannot reach this checkout: ${closed} is not searchable by others; clone into a directory others can read to run these tests: skipping`;
  }
  return false;
}

/** The first directory above `file` that others may not search (as `mktemp -d` makes), or null. */
function closedAncestor(file: string): string | null {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (dirname(dir) === dir) return null;
  }
}

export interface ApacheCgiSite extends ServerProcess {
  /** The script root (SetEnv TSCGI_ROOT): a copy of `scripts`, readable by the CGI user. */
  root: string;
}

/** Apache on a loopback port with the scripts of `scripts` under /app, run by conf/tscgi.cgi. */
export async function startApacheCgiSite(scripts: string): Promise<ApacheCgiSite> {
  if (!apacheBin || !modules) throw new Error("apache missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-apache-cgi-"));
  const root = join(dir, "cgi-bin");
  cpSync(scripts, root, { recursive: true });
  mkdirSync(join(dir, "public", "static"), { recursive: true });
  // Apache started as root runs CGI programs as nobody: everything they read must be world-readable.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const wrapper = readSnippet("tscgi.cgi", { "/usr/local/bin/tscgi": `${process.execPath} ${bin}` });
  writeFileSync(join(dir, "tscgi.cgi"), wrapper, { mode: 0o755 });
  const site = readSnippet("apache-cgi.conf", {
    "*:80": `*:${port}`,
    "example.com": "localhost",
    "/srv/www/public": join(dir, "public"),
    "/srv/tscgi": dir,
  });
  writeFileSync(join(dir, "site.conf"), site);
  const load = (name: string) => `LoadModule ${name}_module ${modules}/mod_${name}.so`;
  writeFileSync(
    join(dir, "httpd.conf"),
    `${["mpm_event", "authz_core", "alias", "env", "cgid"].map(load).join("\n")}
ServerName localhost
ServerRoot ${dir}
DefaultRuntimeDir ${dir}
PidFile ${dir}/httpd.pid
Mutex file:${dir} default
ScriptSock ${dir}/cgid.sock
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
  const server = await startServerProcess("apache2", apacheBin, ["-f", join(dir, "httpd.conf"), "-DFOREGROUND"], {
    port,
    dir,
    logFiles: [join(dir, "error.log")],
  });
  return { ...server, root };
}
