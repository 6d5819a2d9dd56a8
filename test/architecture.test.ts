// The layer edges of DESIGN.md, no import cycle between files, no node:* where the wire and the script API live.
import t from "tap";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { repo } from "./helpers/tscgi.ts";

const src = join(repo, "src");

/**
 * What each layer may import besides itself and src/errors.ts. DESIGN.md lists them bottom-up; the
 * config schema also reads two tables that belong to lower layers, so that each default has one home.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  // node-internals.ts: Node's undocumented internals, typed and probed in one place.
  fastcgi: ["node-internals.ts"],
  cgi: ["fastcgi"],
  scripts: ["node-internals.ts"],
  runtime: ["cgi"],
  // The stores implement the runtime's interfaces; the runtime never imports them (server and pool wire them).
  stores: ["runtime", "cgi", "config"],
  // index.ts is the public API the loader hands to scripts that import "tscgi".
  server: ["fastcgi", "cgi", "scripts", "runtime", "stores", "config", "index.ts", "node-internals.ts"],
  pool: ["fastcgi", "cgi", "scripts", "runtime", "stores", "config", "server", "node-internals.ts"],
  client: ["fastcgi", "config"],
  config: ["fastcgi/limits.ts", "scripts/extensions.ts"],
};
/** Layers that run where any JavaScript runs: no node:* module (Buffer, a global, is fine). */
const NO_NODE = ["fastcgi", "cgi", "runtime"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

interface Import {
  readonly specifier: string;
  /** The file it names, for a relative specifier; undefined for a package or node:*. */
  readonly file: string | undefined;
}

/** Every static import and re-export of a file (type-only ones too), and every import() with a literal specifier. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Import[] = [];
  const add = (specifier: string): void => {
    const file2 = specifier.startsWith(".") ? resolve(dirname(file), specifier) : undefined;
    found.push({ specifier, file: file2 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** "server" for src/server/dispatch.ts, "" for the files at the top of src/. */
function layerOf(file: string): string {
  const rel = relative(src, file).split("/");
  return rel.length > 1 ? rel[0] : "";
}

const files = sources(src);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

t.test("every relative import names a file that exists", async (t) => {
  const missing = [...graph].flatMap(([file, imports]) =>
    imports.filter((i) => i.file !== undefined && !graph.has(i.file)).map((i) => `${relative(repo, file)} -> ${i.specifier}`),
  );
  t.same(missing, []);
});

t.test("each layer imports only the layers DESIGN.md puts below it", async (t) => {
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    // cli.ts and index.ts compose the layers; errors.ts imports nothing of them, node-internals.ts only errors.ts.
    if (from === "") {
      const own = relative(src, file);
      if (own === "errors.ts" || own === "node-internals.ts") {
        const wrongHere = imports.filter((i) => i.file !== undefined && i.file !== join(src, "errors.ts"));
        wrong.push(...wrongHere.map((i) => `src/${own} -> ${i.specifier}`));
      }
      continue;
    }
    if (!Object.hasOwn(ALLOWED, from)) wrong.push(`${relative(repo, file)}: src/${from} is no layer DESIGN.md names`);
    for (const i of imports) {
      if (i.file === undefined) continue;
      const to = relative(src, i.file);
      const toLayer = layerOf(i.file);
      if (toLayer === from || to === "errors.ts") continue;
      const allowed = ALLOWED[from] ?? [];
      if (!allowed.includes(toLayer) && !allowed.includes(to)) wrong.push(`${relative(repo, file)} -> src/${to}`);
    }
  }
  t.same(wrong, [], "imports that go up or sideways");
});

t.test("no layer has a barrel: files import the file that defines what they use", async (t) => {
  const barrels = files.filter((file) => layerOf(file) !== "" && file.endsWith("/index.ts"));
  t.same(
    barrels.map((file) => relative(repo, file)),
    [],
  );
});

t.test("no node:* module in the wire, CGI and script-API layers", async (t) => {
  const wrong = [...graph].flatMap(([file, imports]) =>
    NO_NODE.includes(layerOf(file))
      ? imports
          .filter((i) => i.specifier.startsWith("node:") || /^(fs|net|path|os|child_process|http)$/.test(i.specifier))
          .map((i) => `${relative(repo, file)} -> ${i.specifier}`)
      : [],
  );
  t.same(wrong, []);
});

t.test("no import cycle between files, type-only imports included", async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const walk = (file: string): void => {
    state.set(file, "open");
    path.push(file);
    for (const i of graph.get(file) ?? []) {
      if (i.file === undefined || !graph.has(i.file)) continue;
      const seen = state.get(i.file);
      if (seen === "open") {
        cycles.push([...path.slice(path.indexOf(i.file)), i.file].map((f) => relative(src, f)).join(" -> "));
      } else if (seen === undefined) {
        walk(i.file);
      }
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) walk(file);
  t.same(cycles, []);
});
