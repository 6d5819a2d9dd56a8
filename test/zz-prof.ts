import { spawn, execFileSync } from "node:child_process";
import { startNginx } from "./helpers/nginx.ts";
const child = spawn(process.execPath, ["--cpu-prof", "--cpu-prof-dir=/tmp/zzp", "/work/wt-tpl/bin/tscgi.js", "serve", "--listen", "127.0.0.1:39421", "--root", "/work/wt-tpl/bench/cgi-bin", "--workers", "0", "--access-log", "off"], { cwd: "/tmp/zzp", stdio: "inherit" });
await new Promise((r) => setTimeout(r, 1500));
const nginx = await startNginx("127.0.0.1:39421");
console.log(execFileSync("wrk", ["-t1", "-c16", "-d8s", nginx.url + "/" + (process.argv[2] ?? "render")]).toString().split("\n").filter((l) => /Requests|Latency/.test(l)).join("\n"));
child.kill("SIGINT");
await new Promise((r) => child.once("exit", r));
await nginx.stop();
