// A real lighttpd running conf/lighttpd.conf as users include it, on a loopback port.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../ports.ts";
import { startServerProcess, type ServerProcess } from "./process.ts";
import { readSnippet } from "./snippet.ts";

const lighttpdBin = ["/usr/sbin/lighttpd", "/usr/local/sbin/lighttpd"].find((p) => existsSync(p)) ?? null;

/** Why lighttpd tests are skipped here, or false when it is installed. In CI it must be. */
export function lighttpdMissing(): string | false {
  if (lighttpdBin) return false;
  if (process.env.CI) throw new Error("lighttpd is required in CI (.ci/run installs it)");
  return "lighttpd is not installed (apt-get install lighttpd): skipping tests through lighttpd";
}

/** `host`, `port`: tscgi's address, replacing 127.0.0.1 and 9000. */
export async function startLighttpdSite(host: string, tscgiPort: number): Promise<ServerProcess> {
  if (!lighttpdBin) throw new Error("lighttpd missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-lighttpd-site-"));
  const port = await freePort();
  mkdirSync(join(dir, "public"));
  mkdirSync(join(dir, "uploads"));
  const site = readSnippet("lighttpd.conf", { '"host" => "127.0.0.1", "port" => 9000': `"host" => "${host}", "port" => ${tscgiPort}` });
  writeFileSync(join(dir, "tscgi.conf"), site);
  writeFileSync(
    join(dir, "lighttpd.conf"),
    `server.document-root = "${dir}/public"
server.bind = "127.0.0.1"
server.port = ${port}
server.pid-file = "${dir}/lighttpd.pid"
server.errorlog = "${dir}/error.log"
server.upload-dirs = ( "${dir}/uploads" )
include "${dir}/tscgi.conf"
`,
  );
  return startServerProcess("lighttpd", lighttpdBin, ["-D", "-f", join(dir, "lighttpd.conf")], {
    port,
    dir,
    logFiles: [join(dir, "error.log")],
  });
}
