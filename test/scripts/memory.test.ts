// 1,000 edits and reloads of a script leave the heap where 100 did: replaced modules are garbage.

import t from "tap";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { scaled } from "../helpers/time.ts";
import { makeTree } from "./fixtures/tree.ts";

const EDITS = 1000;
const SAMPLE_AT = 100;
const MAX_GROWTH = 4 * 1024 * 1024;

// Runs in a plain `node --expose-gc` child, with the loader bundled to JavaScript, so that no
// test harness (coverage, TypeScript hooks) holds on to anything.
const CHILD = `
import { writeFileSync } from "node:fs";
import { ScriptLoader } from "./loader.mjs";

process.setSourceMapsEnabled(true);
const [root, edits, sampleAt] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const file = root + "/edit.ts";
const lib = root + "/_lib/helper.ts";
const loader = new ScriptLoader({ root, hostModules: { tscgi: {} } });
let changed = () => {};
loader.onChange(() => changed());

const script = (i) =>
  'import { helper } from "./_lib/helper.ts";\\n' +
  "interface Row { n: number }\\n" +
  "const rows: Row[] = Array.from({ length: 1000 }, (_, n) => ({ n: n + " + i + " }));\\n" +
  "export default () => helper(rows[0].n);\\n";
const helper = (i) => "export const helper = (n: number) => n * 1 + " + (i % 7) + " * 0;\\n";

async function change(path, content) {
  const seen = new Promise((resolve) => (changed = resolve));
  const timer = setTimeout(() => { throw new Error("no change event for " + path); }, ${scaled(30_000)});
  writeFileSync(path, content);
  await seen;
  clearTimeout(timer);
  await new Promise((resolve) => setImmediate(resolve));
}

// V8 in Node 22 and later keeps the compiled code of dropped modules until a memory-reducing
// collection (a heap snapshot shows it unreachable; plain gc() left 6 MiB of it over 900 edits on
// Node 24): ask for that collection there. Node 20's V8 frees it with plain gc().
const lastResort = Number(process.versions.node.split(".")[0]) >= 22;
async function heap() {
  for (let i = 0; i < 4; i++) {
    if (lastResort) globalThis.gc({ type: "major", execution: "sync", flavor: "last-resort" });
    else globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const samples = {};
for (let i = 1; i <= edits; i++) {
  await change(file, script(i));
  if (i % 10 === 0) await change(lib, helper(i));
  let namespace = loader.load(file);
  if (namespace instanceof Promise) namespace = await namespace;
  else throw new Error("edit " + i + " was not reloaded");
  const answer = namespace.default();
  if (answer !== i) throw new Error("edit " + i + " answered " + answer);
  if (i === sampleAt || i === edits) samples[i] = await heap();
}
// The stack of a thrown error names the TypeScript line (4) in a plain Node process too.
await change(file, "interface A { a: number }\\n\\nexport default function () {\\n  throw new Error('x');\\n}\\n");
const namespace = await loader.load(file);
let stack = "";
try { namespace.default(); } catch (error) { stack = error.stack; }
loader.close();
console.log(JSON.stringify({ samples, mapped: stack.includes(file + ":4:9") }));
`;

t.test(`${EDITS} edits and loads keep the heap bounded`, async (t) => {
  const tree = makeTree("memory", {
    "root/_lib/helper.ts": "export const helper = (n: number) => n;\n",
    "root/edit.ts": "export default () => 0;\n",
  });
  t.teardown(() => tree.remove());
  const src = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "scripts", "loader.ts");
  buildSync({
    entryPoints: [src],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["esbuild"],
    outfile: tree.path("loader.mjs"),
    logLevel: "silent",
  });
  writeFileSync(tree.path("child.mjs"), CHILD);
  // `env -i`: tap's process tracking injects NODE_OPTIONS into child processes to collect
  // coverage, and V8 coverage keeps every compiled function, which is the leak measured here.
  const node = [process.execPath, "--expose-gc", tree.path("child.mjs"), tree.path("root"), String(EDITS), String(SAMPLE_AT)];
  const output = execFileSync("env", ["-i", `PATH=${process.env.PATH ?? ""}`, ...node], {
    cwd: tree.dir,
    encoding: "utf8",
    timeout: scaled(90_000),
  });
  const { samples, mapped } = JSON.parse(output.trim().split("\n").pop()!) as { samples: Record<string, number>; mapped: boolean };
  const [early, late] = [samples[SAMPLE_AT], samples[EDITS]];
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(2) + " MiB";
  t.comment(`heapUsed after gc: edit ${SAMPLE_AT} ${mib(early)}, edit ${EDITS} ${mib(late)}, growth ${mib(late - early)}`);
  t.ok(late - early < MAX_GROWTH, `growth ${mib(late - early)} under ${mib(MAX_GROWTH)}`);
  t.ok(mapped, "the stack names edit.ts line 4");
});
