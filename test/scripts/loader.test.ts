// ScriptLoader: TypeScript scripts compiled and evaluated outside Node's module cache, reloaded on edit.

import t from "tap";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import {
  ScriptCompileError,
  ScriptImportError,
  RequireEsmError,
  ScriptExportError,
  ScriptNotFoundError,
} from "../../src/scripts/errors.ts";
import { isFetchHandler, scriptHandler } from "../../src/server/script-handler.ts";
import { ScriptLoader, type ScriptExports } from "../../src/scripts/loader.ts";
import { ScriptResolver } from "../../src/scripts/resolve.ts";
import { scaled } from "../helpers/time.ts";
import { makeTree } from "./fixtures/tree.ts";

process.setSourceMapsEnabled(true);

const pool = "export const pool = { id: Math.random() };\nexport let opened = 0;\nopened++;\n";
const tree = makeTree("loader", {
  "root/hello.ts":
    'import type { Cgi } from "tscgi";\nconst greet: string = "hello";\nexport default function (_cgi: Cgi) { return greet; }\n',
  "root/page.tsx": 'export default () => <p class="x">hi</p>;\n',
  "root/mod.mts": 'export const kind = "mts";\nexport default () => kind;\n',
  "root/plain.js": 'export default () => "js";\n',
  "root/esm.mjs": 'export default () => "mjs";\n',
  "root/common.js": 'module.exports = function () { return "cjs"; };\nmodule.exports.extra = 1;\n',
  "root/_lib/db.ts": pool,
  "root/_lib/config.json": '{ "name": "tscgi" }\n',
  "root/_lib/sub/index.ts": 'export const where = "index";\n',
  "root/a.ts": 'import { pool } from "./_lib/db.ts";\nexport default () => pool;\n',
  "root/b.ts": 'import { pool } from "./_lib/db.js";\nexport default () => pool;\n',
  "root/c.ts": 'import { pool } from "./_lib/db";\nexport default () => pool;\n',
  "root/d.ts":
    'import { where } from "./_lib/sub";\nimport config from "./_lib/config.json";\nexport default () => [where, config.name];\n',
  "root/npm.ts": 'import minimist from "minimist";\nexport default () => minimist(["--port", "9000"]).port;\n',
  "root/host.ts": 'import { version } from "tscgi";\nimport tscgi from "tscgi";\nexport default () => [version, tscgi.version];\n',
  "root/builtin.ts": 'import { basename } from "node:path";\nexport default () => basename(import.meta.filename);\n',
  "root/meta.ts": "export default () => [import.meta.url, import.meta.dirname, import.meta.filename];\n",
  "root/dynamic.ts": 'export default async () => (await import("./_lib/db.ts")).pool;\n',
  "root/counter.ts": "let count = 0;\nexport default () => ++count;\n",
  "root/uses-lib.ts": 'import { value } from "./_lib/value.ts";\nexport default () => value;\n',
  "root/_lib/value.ts": "export const value = 1;\n",
  "root/cycle-a.ts": 'import { b } from "./cycle-b.ts";\nexport const a = "a";\nexport default () => a + b();\n',
  "root/cycle-b.ts": 'import * as A from "./cycle-a.ts";\nexport const b = () => "b" + A.a;\n',
  "root/broken.ts": "export default function () {\n  return 1 +;\n}\n",
  "root/tla.ts": "const x = await Promise.resolve(1);\nexport default () => x;\n",
  "root/throws.ts":
    "// The throw is on line 7 of this file, not of the compiled JavaScript.\ninterface Shape {\n  size: number;\n}\n" +
    'export type Unused = Shape;\nexport default function handler(): never {\n  throw new Error("boom");\n}\n',
  "root/throws-at-load.ts": 'throw new Error("cannot start");\n',
  "root/missing-import.ts": 'import { x } from "./_lib/nope.ts";\nexport default () => x;\n',
  "root/esm-only.ts": 'import two, { x } from "esm-only";\nexport default () => two + x;\n',
  "root/esm-tla.ts": 'import { x } from "esm-tla";\nexport default () => x;\n',
  "root/named-only.ts": "export const handler = () => 1;\n",
  "root/fetch.ts": 'export default { fetch() { return new Response("hi"); } };\n',
  "root/node_modules/esm-only/package.json": '{ "name": "esm-only", "type": "module", "main": "index.js" }\n',
  "root/node_modules/esm-only/index.js": "export const x = 1;\nexport default 2;\n",
  "root/node_modules/esm-tla/package.json": '{ "name": "esm-tla", "type": "module", "main": "index.js" }\n',
  "root/node_modules/esm-tla/index.js": "export const x = await Promise.resolve(1);\n",
  "outside/shared.ts": "export const shared = 1;\n",
  "root/imports-outside.ts": 'import { shared } from "../outside/shared.ts";\nexport default () => shared;\n',
});
t.teardown(() => tree.remove());

const jsxRuntime = {
  jsx: (type: string, props: Record<string, unknown>) => ({ type, props }),
  jsxs: (type: string, props: Record<string, unknown>) => ({ type, props }),
  Fragment: Symbol("Fragment"),
};
const api = { version: "0.1.0" };
const loader = new ScriptLoader({
  root: tree.path("root"),
  hostModules: { tscgi: api, "react/jsx-runtime": jsxRuntime },
});
t.teardown(() => loader.close());

async function load(name: string): Promise<ScriptExports> {
  return await loader.load(tree.path("root/" + name));
}
async function run(name: string, ...args: unknown[]): Promise<unknown> {
  return ((await load(name)).default as (...args: unknown[]) => unknown)(...args);
}
async function rejection(promise: unknown): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/**
 * Resolves when the loader reports a change of `path` (any path when undefined). The timer also
 * keeps the process alive: the watchers alone do not.
 */
function changeOf(path?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no change event for ${path ?? "anything"}`)), scaled(30_000));
    const off = loader.onChange((changed) => {
      if (path !== undefined && changed !== path) return;
      off();
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Write `files` and wait until the loader saw the change (and every event of that write). */
async function edit(files: Record<string, string>): Promise<void> {
  const seen = Promise.all(Object.keys(files).map((name) => changeOf(tree.path(name))));
  tree.write(files);
  await seen;
  // All events of one write were queued together; let the poll phase deliver the rest.
  await new Promise((resolve) => setImmediate(resolve));
}

t.test("every script extension loads", async (t) => {
  t.equal(await run("hello.ts"), "hello", ".ts, with an import type of the host module");
  t.same(await run("page.tsx"), { type: "p", props: { class: "x", children: "hi" } }, ".tsx with the automatic runtime");
  t.equal(await run("mod.mts"), "mts");
  t.equal((await load("mod.mts")).kind, "mts", "named exports are on the namespace");
  t.equal(await run("plain.js"), "js");
  t.equal(await run("esm.mjs"), "mjs");
  const common = await load("common.js");
  t.equal((common.default as () => string)(), "cjs", "a CommonJS module's exports are its default");
  t.equal(common.extra, 1);
});

t.test("local, npm, host and builtin imports", async (t) => {
  const viaTs = await run("a.ts");
  t.equal(await run("b.ts"), viaTs, "./_lib/db.js finds db.ts, and it is the same instance");
  t.equal(await run("c.ts"), viaTs, "./_lib/db without extension, same instance");
  t.equal(await run("dynamic.ts"), viaTs, "import() of a local file, same instance");
  t.equal((await load("_lib/db.ts")).opened, 1, "the shared module ran once");
  t.same(await run("d.ts"), ["index", "tscgi"], "a directory's index.ts and a JSON file");
  t.equal(await run("npm.ts"), 9000, "an npm package from node_modules");
  t.same(await run("host.ts"), ["0.1.0", "0.1.0"], "the host module, named and default");
  t.equal(await run("builtin.ts"), "builtin.ts", "node: builtins and import.meta.filename");
  const [url, dir, file] = (await run("meta.ts")) as string[];
  t.equal(file, tree.path("root/meta.ts"));
  t.equal(dir, tree.path("root"));
  t.equal(url, "file://" + tree.path("root/meta.ts"));
  t.equal(await run("cycle-a.ts"), "aba", "an import cycle sees partial exports, as in Node");
  t.equal(await run("imports-outside.ts"), 1, "a local file outside the root");
  t.equal(await run("esm-only.ts"), 3, "an ES-module-only package (require(esm), Node >= 20.19)");
});

t.test("the hot path is synchronous and returns the same namespace", async (t) => {
  const file = tree.path("root/counter.ts");
  const first = await loader.load(file);
  const again = loader.load(file);
  t.notOk(again instanceof Promise, "no Promise once loaded");
  t.equal(again, first, "the same object, nothing allocated");
  const count = first.default as () => number;
  t.equal(count(), 1);
  t.equal(((await loader.load(file)).default as () => number)(), 2, "module scope persists between loads");
  t.equal(((await loader.load(file)).default as () => number)(), 3);
  const [x, y] = [loader.load(tree.path("root/hello.ts")), loader.load(tree.path("root/hello.ts"))];
  t.equal(x, y);
});

t.test("an edit is live on the next load", async (t) => {
  const file = tree.path("root/counter.ts");
  await loader.load(file);
  await edit({ "root/counter.ts": "let count = 100;\nexport default () => ++count;\n" });
  const next = loader.load(file);
  t.ok(next instanceof Promise, "a changed file loads again");
  t.equal(((await next).default as () => number)(), 101, "the new code, module scope restarted");
  t.equal(((await loader.load(file)).default as () => number)(), 102);

  // Editors save by renaming a new file over the old one.
  await edit({ "root/counter.ts.tmp": "export default () => 'renamed';\n" });
  const renamed = changeOf(file);
  renameSync(tree.path("root/counter.ts.tmp"), file);
  await renamed;
  t.equal(await run("counter.ts"), "renamed", "a rename over the file is seen");
});

t.test("an edit of an imported module reloads its importers, and only them", async (t) => {
  t.equal(await run("uses-lib.ts"), 1);
  const hello = await load("hello.ts");
  const db = await load("_lib/db.ts");
  await edit({ "root/_lib/value.ts": "export const value = 2;\n" });
  t.ok(loader.load(tree.path("root/uses-lib.ts")) instanceof Promise, "the importer was dropped");
  t.equal(await run("uses-lib.ts"), 2);
  t.equal(loader.load(tree.path("root/hello.ts")), hello, "an unrelated script was kept");
  t.equal(loader.load(tree.path("root/_lib/db.ts")), db, "an unrelated library was kept");

  const before = await run("a.ts");
  await edit({ "root/_lib/db.ts": pool + "export const edited = true;\n" });
  const after = await run("a.ts");
  t.not(after, before, "a new pool after db.ts changed");
  t.equal(await run("b.ts"), after, "every importer shares the new instance");
  t.equal(await run("dynamic.ts"), after);
});

t.test("compile errors name the file, line and column", async (t) => {
  const file = tree.path("root/broken.ts");
  const error = (await rejection(loader.load(file))) as ScriptCompileError;
  t.ok(error instanceof ScriptCompileError);
  t.equal(error.code, "TSCGI_E_SCRIPT_COMPILE");
  t.equal(error.status, 500);
  t.equal(error.file, file);
  t.equal(error.line, 2);
  t.equal(error.column, 13, "1-based, as editors count");
  t.match(error.message, `${file}:2:13: Unexpected ";"`);
  t.equal(await rejection(loader.load(file)), error, "kept until the file changes");
  await edit({ "root/broken.ts": "export default function () {\n  return 1 + 1;\n}\n" });
  t.equal(await run("broken.ts"), 2, "the fix is live on the next load");

  const tla = (await rejection(loader.load(tree.path("root/tla.ts")))) as ScriptCompileError;
  t.ok(tla instanceof ScriptCompileError);
  t.equal(tla.line, 1);
  t.match(tla.message, /top-level await is not supported.*move the await into the handler/s);
});

t.test("a thrown error's stack names the TypeScript file and line", async (t) => {
  const file = tree.path("root/throws.ts");
  const handler = (await load("throws.ts")).default as () => never;
  const error = t.throws(() => handler()) as Error;
  t.match(error.stack, `${file}:7:9`, "line 7, column 9 of throws.ts");
  const atLoad = (await rejection(loader.load(tree.path("root/throws-at-load.ts")))) as Error;
  t.equal(atLoad.message, "cannot start");
  t.match(atLoad.stack, `${tree.path("root/throws-at-load.ts")}:1:7`);
  t.ok(loader.load(tree.path("root/throws-at-load.ts")) instanceof Promise, "a failed evaluation is retried");
});

t.test("import failures are clear", async (t) => {
  const missing = (await rejection(loader.load(tree.path("root/missing-import.ts")))) as ScriptImportError;
  t.ok(missing instanceof ScriptImportError);
  t.equal(missing.code, "TSCGI_E_SCRIPT_IMPORT");
  t.equal(missing.specifier, "./_lib/nope.ts");
  t.match(missing.message, tree.path("root/missing-import.ts"));
  await edit({ "root/_lib/nope.ts": "export const x = 'created';\n" });
  t.equal(await run("missing-import.ts"), "created", "creating the missing file fixes it");

  const esm = (await rejection(loader.load(tree.path("root/esm-tla.ts")))) as RequireEsmError;
  t.ok(esm instanceof RequireEsmError);
  t.equal(esm.code, "TSCGI_E_SCRIPT_REQUIRE_ESM");
  t.match(esm.message, /top-level await/);

  const gone = (await rejection(loader.load(tree.path("root/never-existed.ts")))) as ScriptNotFoundError;
  t.ok(gone instanceof ScriptNotFoundError);
});

t.test("deleting a script drops it", async (t) => {
  tree.write({ "root/doomed.ts": "export default () => 1;\n" });
  t.equal(await run("doomed.ts"), 1);
  const deleted = changeOf(tree.path("root/doomed.ts"));
  rmSync(tree.path("root/doomed.ts"));
  await deleted;
  t.ok((await rejection(loader.load(tree.path("root/doomed.ts")))) instanceof ScriptNotFoundError);
});

t.test("new directories are watched", async (t) => {
  // The file may be written before the new directories are watched: the event is for "fresh".
  const created = changeOf(tree.path("root/fresh"));
  tree.write({ "root/fresh/deep/page.ts": "export default () => 1;\n" });
  await created;
  t.equal(await run("fresh/deep/page.ts"), 1);
  await edit({ "root/fresh/deep/page.ts": "export default () => 2;\n" });
  t.equal(await run("fresh/deep/page.ts"), 2, "an edit in a directory created after start is seen");
  await edit({ "outside/shared.ts": "export const shared = 2;\n" });
  t.equal(await run("imports-outside.ts"), 2, "the directory of an imported file outside the root is watched");
});

t.test("scriptHandler checks the default export", async (t) => {
  const cgi = scriptHandler(await load("hello.ts"), "hello.ts");
  t.equal(typeof cgi, "function");
  t.notOk(isFetchHandler(cgi));
  const fetchStyle = scriptHandler(await load("fetch.ts"), "fetch.ts");
  t.ok(isFetchHandler(fetchStyle));
  const namedOnly = await load("named-only.ts");
  const error = t.throws(() => scriptHandler(namedOnly, "named-only.ts")) as ScriptExportError;
  t.ok(error instanceof ScriptExportError);
  t.equal(error.code, "TSCGI_E_SCRIPT_EXPORT");
  t.match(error.message, /missing \(named exports: handler\)/);
  t.match((t.throws(() => scriptHandler({ default: { get: 1 } }, "x.ts")) as Error).message, /an object without a fetch method/);
  t.match((t.throws(() => scriptHandler({ default: "text" }, "x.ts")) as Error).message, /a string/);
});

t.test("the resolver's cache clears on change, so new and deleted scripts are seen", async (t) => {
  const resolver = new ScriptResolver({ root: tree.path("root"), mount: "/", extensions: [".ts"], index: "index" });
  const off = loader.onChange(() => resolver.invalidate());
  t.teardown(off);
  t.throws(() => resolver.resolve("/brand-new"));
  await edit({ "root/brand-new.ts": "export default () => 'new';\n" });
  const { file } = resolver.resolve("/brand-new");
  t.equal(file, tree.path("root/brand-new.ts"));
  t.equal(await run("brand-new.ts"), "new");
  const deleted = changeOf(file);
  rmSync(file);
  await deleted;
  t.ok(t.throws(() => resolver.resolve("/brand-new")) instanceof ScriptNotFoundError);
});

t.test("an edit written before a request arrives is seen by that request", async (t) => {
  // On a connection already open, the edit and the request become readable in the same poll
  // phase; the kernel queued the inotify event at write time, before the request's bytes.
  const file = tree.path("root/race.ts");
  tree.write({ "root/race.ts": "export default () => 0;\n" });
  await loader.load(file);
  const server = createServer((socket) => {
    socket.setEncoding("utf8");
    socket.on("data", () => {
      const namespace = loader.load(file);
      if (namespace instanceof Promise) void namespace.then((ns) => socket.write(String((ns.default as () => number)()) + "\n"));
      else socket.write("stale\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = connect(port, "127.0.0.1");
  await new Promise((resolve) => client.once("connect", resolve));
  client.setNoDelay(true);
  client.setEncoding("utf8");
  t.teardown(() => {
    client.destroy();
    server.close();
  });
  const answers: string[] = [];
  for (let i = 1; i <= 100; i++) {
    const answer = new Promise<string>((resolve) => client.once("data", (chunk: string) => resolve(chunk.trim())));
    writeFileSync(file, `export default () => ${i};\n`);
    client.write("GET\n");
    answers.push(await answer);
  }
  t.same(
    answers,
    Array.from({ length: 100 }, (_, i) => String(i + 1)),
    "every request saw the edit written before it",
  );
});
