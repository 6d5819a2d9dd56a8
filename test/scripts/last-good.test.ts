// A broken save keeps the last good version answering: an edit of a script, or of a module it
// imports, that does not compile leaves the version evaluated before it in place, says so once in
// the log, and is listed as broken until an edit compiles.

import t from "tap";
import { ScriptCompileError } from "../../src/scripts/errors.ts";
import { ScriptLoader, type ScriptExports } from "../../src/scripts/loader.ts";
import { scaled } from "../helpers/time.ts";
import { makeTree } from "./fixtures/tree.ts";

const tree = makeTree("last-good", {
  "root/page.ts": "export default () => 'page v1';\n",
  "root/users.ts": 'import { pool } from "./_lib/db.ts";\nexport default () => "users " + pool;\n',
  "root/orders.ts": 'import { pool } from "./_lib/db.ts";\nexport default () => "orders " + pool;\n',
  "root/_lib/db.ts": "export const pool = 'db v1';\n",
  "root/new.ts": "export default () => 'new';\n",
});
t.teardown(() => tree.remove());

function makeLoader(keepLastGood?: boolean) {
  const logged: string[] = [];
  const loader = new ScriptLoader({
    root: tree.path("root"),
    log: (level, message) => void logged.push(`${level}: ${message}`),
    ...(keepLastGood === undefined ? {} : { keepLastGood }),
  });
  t.teardown(() => loader.close());
  return { loader, logged };
}

async function run(loader: ScriptLoader, name: string): Promise<unknown> {
  return ((await loader.load(tree.path("root/" + name))) as ScriptExports & { default: () => unknown }).default();
}

async function rejection(promise: unknown): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Writes `files` and resolves once `loader` reported each of them changed. */
async function edit(loader: ScriptLoader, files: Record<string, string>): Promise<void> {
  const waiting = new Set(Object.keys(files).map((name) => tree.path(name)));
  const seen = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change event for ${[...waiting].join(", ")}`)), scaled(30_000));
    const off = loader.onChange((path) => {
      waiting.delete(path);
      if (waiting.size > 0) return;
      off();
      clearTimeout(timer);
      resolve();
    });
  });
  tree.write(files);
  await seen;
  await new Promise((resolve) => setImmediate(resolve));
}

t.test("a script whose edit does not compile keeps answering with its last good version", async (t) => {
  const { loader, logged } = makeLoader();
  t.equal(await run(loader, "page.ts"), "page v1");
  await edit(loader, { "root/page.ts": "export default () => 'page v2';\n" });
  t.equal(await run(loader, "page.ts"), "page v2", "a good edit is live");

  await edit(loader, { "root/page.ts": "export default () => 'page v3'\n  oops here;\n" });
  t.equal(await run(loader, "page.ts"), "page v2", "the broken edit: the last good version answers");
  t.equal(await run(loader, "page.ts"), "page v2", "and again, without recompiling or logging again");
  const lines = logged.filter((line) => line.includes("last good version"));
  t.equal(lines.length, 1, "logged once");
  t.match(lines[0], /^error: .*page\.ts:2:\d+: .*; the last good version of page\.ts keeps answering until the file compiles$/);
  t.same(
    loader.broken().map((b) => [b.file, b.line, b.lastGood]),
    [["page.ts", 2, ["page.ts"]]],
  );

  await edit(loader, { "root/page.ts": "export default () => 'page v4';\n" });
  t.equal(await run(loader, "page.ts"), "page v4", "the fix is live on the next load");
  t.same(loader.broken(), [], "nothing broken any more");
});

t.test("a broken module keeps every script that imports it on its last good version", async (t) => {
  const { loader, logged } = makeLoader();
  t.equal(await run(loader, "users.ts"), "users db v1");
  t.equal(await run(loader, "orders.ts"), "orders db v1");
  await edit(loader, { "root/_lib/db.ts": "export const pool = 'db v2' +;\n" });
  t.equal(await run(loader, "users.ts"), "users db v1");
  t.equal(await run(loader, "orders.ts"), "orders db v1");
  t.same(
    loader.broken().map((b) => [b.file, b.line, b.lastGood.sort()]),
    [["_lib/db.ts", 1, ["orders.ts", "users.ts"]]],
  );
  t.equal(logged.filter((line) => line.includes("_lib/db.ts:1:")).length, 2, "one line per script that keeps its last good version");
  await edit(loader, { "root/_lib/db.ts": "export const pool = 'db v3';\n" });
  t.equal(await run(loader, "users.ts"), "users db v3");
  t.same(loader.broken(), []);
});

t.test("a script that never compiled has no last good version: the compile error, as before", async (t) => {
  const { loader } = makeLoader();
  await edit(loader, { "root/new.ts": "export default () => 'new' +;\n" });
  const error = await rejection(loader.load(tree.path("root/new.ts")));
  t.ok(error instanceof ScriptCompileError);
  t.same(
    loader.broken().map((b) => [b.file, b.lastGood]),
    [["new.ts", []]],
    "listed, with nothing answering",
  );
  await edit(loader, { "root/new.ts": "export default () => 'new';\n" });
});

t.test("keepLastGood off (display_errors): the compile error reaches the request", async (t) => {
  const { loader } = makeLoader(false);
  await edit(loader, { "root/page.ts": "export default () => 'page v5';\n" });
  t.equal(await run(loader, "page.ts"), "page v5");
  await edit(loader, { "root/page.ts": "export default () => 'page' +;\n" });
  t.ok((await rejection(loader.load(tree.path("root/page.ts")))) instanceof ScriptCompileError);
  await edit(loader, { "root/page.ts": "export default () => 'page v6';\n" });
  t.equal(await run(loader, "page.ts"), "page v6");
});
