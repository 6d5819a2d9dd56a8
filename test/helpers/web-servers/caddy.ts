// A real Caddy running conf/Caddyfile as users import it, on a loopback port over plain HTTP.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../ports.ts";
import { startServerProcess, type ServerProcess } from "./process.ts";
import { readSnippet } from "./snippet.ts";

const caddyBin = ["/usr/bin/caddy", "/usr/local/bin/caddy"].find((p) => existsSync(p)) ?? null;

/** Why Caddy tests are skipped here, or false when it is installed. In CI it must be. */
export function caddyMissing(): string | false {
  if (caddyBin) return false;
  if (process.env.CI) throw new Error("Caddy is required in CI (.ci/run installs it)");
  return "Caddy is not installed (apt-get install caddy): skipping tests through Caddy";
}

/**
 * Caddy with `site` as its site (default: conf/Caddyfile with tscgi at `upstream`). No admin
 * endpoint and no automatic HTTPS; its state lives in a temp dir.
 */
export async function startCaddySite(upstream: string, site?: (address: string, publicDir: string) => string): Promise<ServerProcess> {
  if (!caddyBin) throw new Error("caddy missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-caddy-site-"));
  const port = await freePort();
  const address = `http://127.0.0.1:${port}`;
  mkdirSync(join(dir, "public"));
  const text =
    site?.(address, join(dir, "public")) ??
    readSnippet("Caddyfile", { "example.com": address, "/srv/www/public": join(dir, "public"), "127.0.0.1:9000": upstream });
  writeFileSync(join(dir, "site.caddy"), text);
  writeFileSync(join(dir, "Caddyfile"), `{\n\tadmin off\n\tauto_https off\n}\n\nimport ${dir}/site.caddy\n`);
  return startServerProcess("caddy", caddyBin, ["run", "--adapter", "caddyfile", "--config", join(dir, "Caddyfile")], {
    port,
    dir,
    logFiles: [],
    env: { HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") },
  });
}
