// ScriptLoader's consoleFor: each compiled file logs through its own console; stacks still name .ts lines.
import t from "tap";
import { Console } from "node:console";
import { compileSync } from "../../src/scripts/compile.ts";
import { ScriptLoader } from "../../src/scripts/loader.ts";
import { within } from "../helpers/time.ts";
import { makeTree } from "./fixtures/tree.ts";

process.setSourceMapsEnabled(true);

const tree = makeTree("console", {
  "root/hello.ts":
    'import { helper } from "./_lib/helper.ts";\n' +
    "interface Greeting {\n  text: string;\n}\n" +
    'export default function () {\n  const g: Greeting = { text: "hi" };\n  console.log(g.text, 1);\n' +
    '  console.error("oops");\n  helper();\n  return g.text;\n}\n',
  "root/_lib/helper.ts": 'export function helper() {\n  console.info("from the helper");\n}\n',
  "root/quiet.ts": "export default () => 1;\n",
  "root/own.ts": 'const console = { log: (x: string) => "own " + x };\nexport default () => console.log("x");\n',
  "root/global.ts": "export default () => globalThis.console === console;\n",
  "root/throws.ts":
    "// The throw is on line 9 of this file, below a console call and an import.meta use.\n" +
    "interface Shape {\n  size: number;\n}\n" +
    "export type Unused = Shape;\n" +
    'console.log("loading", import.meta.filename.length > 0);\n' +
    "export default function handler(): never {\n" +
    "  console.warn('about to throw');\n" +
    '  throw new Error("boom");\n' +
    "}\n",
});
t.teardown(() => tree.remove());

/** Per file: what its console wrote, as [stream, text]. */
const written = new Map<string, Array<[string, string]>>();
const asked: string[] = [];
function consoleFor(file: string): Console {
  asked.push(file);
  const out = (stream: string) => ({
    write(chunk: string) {
      const list = written.get(file) ?? [];
      list.push([stream, chunk]);
      written.set(file, list);
      return true;
    },
  });
  return new Console({ stdout: out("stdout") as never, stderr: out("stderr") as never, ignoreErrors: false });
}

const loader = new ScriptLoader({ root: tree.path("root"), consoleFor });
t.teardown(() => loader.close());
const run = async (name: string) => ((await loader.load(tree.path("root/" + name))).default as () => unknown)();

t.test("each file's console is its own", async (t) => {
  t.equal(await run("hello.ts"), "hi");
  t.same(written.get(tree.path("root/hello.ts")), [
    ["stdout", "hi 1\n"],
    ["stderr", "oops\n"],
  ]);
  t.same(written.get(tree.path("root/_lib/helper.ts")), [["stdout", "from the helper\n"]], "an imported module has its own");
});

t.test("a file that never mentions console costs no Console", async (t) => {
  t.equal(await run("quiet.ts"), 1);
  t.notOk(asked.includes(tree.path("root/quiet.ts")));
});

t.test("a script's own console binding wins", async (t) => {
  t.equal(await run("own.ts"), "own x");
});

t.test("globalThis.console is left alone", async (t) => {
  t.equal(await run("global.ts"), false);
});

t.test("stack traces still name the TypeScript line, with the console banner in place", async (t) => {
  const file = tree.path("root/throws.ts");
  let error: Error | undefined;
  try {
    await run("throws.ts");
  } catch (e) {
    error = e as Error;
  }
  t.equal(error?.message, "boom");
  t.match(error?.stack, `${file}:9:9`, "line 9, column 9 of throws.ts");
  t.same(written.get(file), [
    ["stdout", "loading true\n"],
    ["stderr", "about to throw\n"],
  ]);
});

t.test("an edited file gets a console again", async (t) => {
  const file = tree.path("root/quiet.ts");
  // The loader's change event, not a poll: the bound only keeps the process alive meanwhile.
  const changed = new Promise<void>((resolve) => {
    const off = loader.onChange((path) => {
      if (path !== file) return;
      off();
      resolve();
    });
  });
  tree.write({ "root/quiet.ts": 'export default () => { console.log("now talking"); return 2; };\n' });
  await within(changed, 30_000, "the loader's change event for quiet.ts");
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await run("quiet.ts"), 2);
  t.same(written.get(file)?.at(-1), ["stdout", "now talking\n"]);
});

t.test("without consoleFor the compiled code is unchanged", async (t) => {
  const source = 'console.log("x");\n';
  t.notMatch(compileSync("/x/a.ts", source), "__tscgi_console");
  t.match(compileSync("/x/a.ts", source, { scriptConsole: true }), /^var __tscgi_console = module\.__tscgi_console \|\| console;/);
  t.notMatch(compileSync("/x/a.json", '{ "console": 1 }', { scriptConsole: true }), "__tscgi_console", "JSON has no console");
});
