// dispose(): a module's handle opened at module scope is closed when an edit drops the module and when its worker stops.
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFresh } from "../helpers/http.ts";
import { occurrences, startTscgi, until } from "../helpers/tscgi.ts";

const work = mkdtempSync(join(tmpdir(), "tscgi-dispose-"));
const root = join(work, "cgi-bin");
const marker = join(work, "handle.txt");
mkdirSync(join(root, "_lib"), { recursive: true });
writeFileSync(marker, "a file held open by the module\n");
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** A module that holds a file descriptor from its evaluation until its dispose(). */
const lib = (version: number) =>
  [
    'import { closeSync, openSync } from "node:fs";',
    `export const VERSION = "v${version}";`,
    `const fd = openSync(${JSON.stringify(marker)}, "r");`,
    "export function dispose() {",
    "  closeSync(fd);",
    '  console.error("disposed " + VERSION);',
    "}",
  ].join("\n") + "\n";
writeFileSync(join(root, "_lib", "x.ts"), lib(0));
// Counts this process's descriptors open on the marker file: the handles the module versions hold.
writeFileSync(
  join(root, "count.ts"),
  [
    'import { readdirSync, readlinkSync } from "node:fs";',
    'import { VERSION } from "./_lib/x.ts";',
    "export default () => {",
    '  const open = readdirSync("/proc/self/fd").filter((fd) => { try { return readlinkSync("/proc/self/fd/" + fd) === ' +
      JSON.stringify(marker) +
      "; } catch { return false; } }).length;",
    '  return VERSION + " " + open;',
    "};",
  ].join("\n") + "\n",
);
writeFileSync(
  join(root, "broken.ts"),
  'export const dispose = () => { throw new Error("pool refused to close"); };\nexport default () => "ok";\n',
);

t.test("after 5 edits of _lib/x.ts the worker holds 1 handle; stopping disposes the last", async (t) => {
  const tscgi = await startTscgi(["--root", root, "--workers", "1"]);
  t.teardown(() => tscgi.stop());
  const url = `http://127.0.0.1:${tscgi.httpPort}/count`;
  t.equal((await getFresh(url)).body, "v0 1");
  for (let version = 1; version <= 5; version++) {
    writeFileSync(join(root, "_lib", "x.ts"), lib(version));
    let body = "";
    // The edit is live on some next request: wait for that response, bounded.
    const live = await until(async () => (body = (await getFresh(url)).body).startsWith(`v${version} `), 30_000);
    t.ok(live, `edit ${version} went live`);
    t.equal(body, `v${version} 1`, `after edit ${version}, one handle open`);
  }
  // Each dropped version said so on its way out (its line reaches the log on its own time).
  await tscgi.waitFor((out) => occurrences(out, /disposed v[0-4]\n/) === 5);
  await tscgi.stop();
  t.match(tscgi.output(), /disposed v5/, "the last version is disposed when the worker stops");
});

t.test("a dispose() that throws costs a log line, and the edited script answers", async (t) => {
  const tscgi = await startTscgi(["--root", root, "--workers", "0"]);
  t.teardown(() => tscgi.stop());
  const url = `http://127.0.0.1:${tscgi.httpPort}/broken`;
  t.equal((await getFresh(url)).body, "ok");
  writeFileSync(
    join(root, "broken.ts"),
    'export const dispose = () => { throw new Error("pool refused to close"); };\nexport default () => "ok 2";\n',
  );
  await tscgi.waitFor(/dispose of .*broken\.ts failed: Error: pool refused to close/);
  t.ok(await until(async () => (await getFresh(url)).body === "ok 2", 30_000));
  await tscgi.stop();
});
