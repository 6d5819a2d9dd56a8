// `tscgi init DIR`: the new site installs offline from this checkout, and `npm start` in it answers.
import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./helpers/ports.ts";
import { bin } from "./helpers/tscgi.ts";
import { scaled } from "./helpers/time.ts";

t.test("init, npm install, npm start: GET / answers", async (t) => {
  const work = mkdtempSync(join(tmpdir(), "tscgi-init-"));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const site = join(work, "my site");
  const init = spawnSync(process.execPath, [bin, "init", site], { cwd: work, encoding: "utf8" });
  t.equal(init.status, 0, init.stderr);
  for (const file of ["package.json", "tsconfig.json", "cgi-bin/index.ts", "conf/tscgi.conf", "conf/nginx.conf", "README.md"]) {
    t.ok(existsSync(join(site, file)), file);
  }
  t.match(readFileSync(join(site, "conf/nginx.conf"), "utf8"), `root ${join(site, "public")};`);
  t.match(readFileSync(join(site, "README.md"), "utf8"), /npm install\nnpm start/);
  t.equal(spawnSync(process.execPath, [bin, "init", site], { encoding: "utf8" }).status, 1, "a directory with files is refused");

  const install = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], {
    cwd: site,
    encoding: "utf8",
    timeout: scaled(120_000),
  });
  t.equal(install.status, 0, install.stdout + install.stderr);

  const [listen, http] = [await freePort(), await freePort()];
  // Its own process group, so the stop reaches node behind npm and sh: stopped by that group's id.
  const start = spawn("npm", ["start"], {
    cwd: site,
    detached: true,
    env: { ...process.env, TSCGI_LISTEN: `127.0.0.1:${listen}`, TSCGI_HTTP: `127.0.0.1:${http}`, TSCGI_WORKERS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => start.once("exit", resolve));
  t.teardown(async () => {
    try {
      process.kill(-start.pid!, "SIGTERM");
    } catch {
      // Gone already.
    }
    await exited;
  });
  let out = "";
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not listen within the bound:\n${out}`)), scaled(60_000));
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes(`listening on http 127.0.0.1:${http}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    start.stdout.on("data", onData);
    start.stderr.on("data", onData);
    void exited.then(() => reject(new Error(`npm start exited:\n${out}`)));
  });
  await listening;
  const res = await fetch(`http://127.0.0.1:${http}/?name=%3Cb%3E`);
  t.equal(res.status, 200);
  t.equal(await res.text(), "<h1>Hello, &lt;b&gt;</h1>");
});
