import { writeFileSync } from "node:fs";
import { ScriptLoader } from "./loader.mjs";
import v8 from "node:v8";
if (process.env.SM) process.setSourceMapsEnabled(true);
const root = process.cwd() + "/root";
writeFileSync(root + "/edit.ts", "export default () => 0;\n");
writeFileSync(root + "/_lib/helper.ts", "export const helper = (n) => n;\n");
const file = root + "/edit.ts";
const loader = new ScriptLoader({ root });
let changed = () => {};
loader.onChange(() => changed());
const script = (i) => 'import { helper } from "./_lib/helper.ts";\nconst rows = Array.from({ length: 1000 }, (_, n) => ({ n: n + ' + i + ' }));\nexport default () => helper(rows[0].n);\n';
async function change(path, content) {
  const seen = new Promise((resolve) => (changed = resolve));
  writeFileSync(path, content);
  await seen;
  await new Promise((resolve) => setImmediate(resolve));
}
async function heap() { for (let i = 0; i < 4; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); } return process.memoryUsage().heapUsed; }
const keep = setInterval(() => {}, 1000);
const N = Number(process.env.N ?? 1000);
for (let i = 1; i <= N; i++) {
  await change(file, script(i));
  if (process.env.LIB && i % 10 === 0) await change(root + "/_lib/helper.ts", "export const helper = (n) => n + " + (i % 7) + " * 0;\n");
  let ns = loader.load(file); if (ns instanceof Promise) ns = await ns;
  if (process.env.CALL) ns.default();
  if (i === 100 || i === N) console.log(i, (await heap() / 1048576).toFixed(2));
  if (process.env.SNAP && (i === 200 || i === N)) { await heap(); v8.writeHeapSnapshot("snap-" + i + ".heapsnapshot"); }
}
loader.close(); clearInterval(keep);
