// preload: the listed scripts are loaded when the process starts, before it serves any request.
import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTscgi } from "../helpers/tscgi.ts";

function scriptRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "tscgi-preload-"));
  writeFileSync(join(root, "warm.ts"), 'console.log("warm: module scope ran");\nexport default () => "warm";\n');
  writeFileSync(join(root, "cold.ts"), 'console.log("cold: module scope ran");\nexport default () => "cold";\n');
  return root;
}

t.test("a preloaded script's module scope has run before the process listens; others wait for a request", async (t) => {
  const root = scriptRoot();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const tscgi = await startTscgi(["--root", root, "--workers", "0", "--preload", "/warm,/missing"]);
  t.teardown(() => tscgi.stop());
  const before = tscgi.output();
  t.match(before, /warm: module scope ran/, "loaded at start-up, with no request");
  t.notMatch(before, /cold: module scope ran/, "a script not listed is not");
  t.match(before, /preload: \/missing was not loaded/, "a path that names no script is logged and skipped");
  const answer = await fetch(`http://127.0.0.1:${tscgi.httpPort}/warm`);
  t.equal(await answer.text(), "warm", "and the preloaded script serves");
  t.equal(tscgi.output().match(/warm: module scope ran/g)?.length, 1, "from the module loaded at start-up");
});

t.test("a preload entry that is not a URL path is a config error naming the key", async (t) => {
  const root = scriptRoot();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  await t.rejects(startTscgi(["--root", root, "--workers", "0", "--preload", "warm"]), /preload[\s\S]*not a URL path/);
});
