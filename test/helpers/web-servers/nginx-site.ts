// A real nginx running conf/nginx.conf as users paste it into their http { } block.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxBin } from "../nginx.ts";
import { freePort } from "../ports.ts";
import { startServerProcess, type ServerProcess } from "./process.ts";
import { readSnippet } from "./snippet.ts";

/** `upstream`: what replaces 127.0.0.1:9000 in the snippet, e.g. 127.0.0.1:PORT or unix:/path. */
export async function startNginxSite(upstream: string): Promise<ServerProcess> {
  if (!nginxBin) throw new Error("nginx missing");
  const dir = mkdtempSync(join(tmpdir(), "tscgi-nginx-site-"));
  // nginx's workers run as nobody: they read static files and write request bodies in here.
  chmodSync(dir, 0o755);
  const port = await freePort();
  mkdirSync(join(dir, "public", "static"), { recursive: true });
  writeFileSync(join(dir, "public", "static", "app.css"), "body {}\n");
  const site = readSnippet("nginx.conf", {
    "127.0.0.1:9000": upstream,
    "listen 80": `listen 127.0.0.1:${port}`,
    "example.com": "localhost",
    "/srv/www/public": join(dir, "public"),
  });
  writeFileSync(join(dir, "site.conf"), site);
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;
error_log ${dir}/error.log info;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/fastcgi;
  proxy_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
  return startServerProcess("nginx", nginxBin, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    port,
    dir,
    logFiles: [join(dir, "error.log")],
    stopSignal: "SIGQUIT",
  });
}
