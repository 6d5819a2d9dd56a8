
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
  'import { helper } from "./_lib/helper.ts";\n' +
  "interface Row { n: number }\n" +
  "const rows: Row[] = Array.from({ length: 1000 }, (_, n) => ({ n: n + " + i + " }));\n" +
  "export default () => helper(rows[0].n);\n";
const helper = (i) => "export const helper = (n: number) => n * 1 + " + (i % 7) + " * 0;\n";

async function change(path, content) {
  const seen = new Promise((resolve) => (changed = resolve));
  const timer = setTimeout(() => { throw new Error("no change event for " + path); }, 5000);
  writeFileSync(path, content);
  await seen;
  clearTimeout(timer);
  await new Promise((resolve) => setImmediate(resolve));
}

async function heap() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
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
await change(file, "interface A { a: number }\n\nexport default function () {\n  throw new Error('x');\n}\n");
const namespace = await loader.load(file);
let stack = "";
try { namespace.default(); } catch (error) { stack = error.stack; }
loader.close();
console.log(JSON.stringify({ samples, mapped: stack.includes(file + ":4:9") }));
