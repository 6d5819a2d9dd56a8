// `tscgi check`: type-checks the scripts under the root against tscgi's types, and reports route conflicts and files never served.

import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { checkTemplates } from "./check-templates.ts";
import { DEFAULT_EXTENSIONS, loaderFor, SCRIPT_EXTENSIONS } from "./extensions.ts";
import { describeConflict, routeTable } from "./routes.ts";
import type { ResolverOptions } from "./resolve.ts";

/** Type-checked extensions: the TypeScript ones (plain .js is not checked, as with tsc's default). */
const CHECKED = SCRIPT_EXTENSIONS.filter((ext) => loaderFor(ext) === "ts" || loaderFor(ext) === "tsx");
/** Files with a leading `_` that tscgi itself reads, so not "never served". */
const SPECIAL_PRIVATE = /^_(404|500)\.[a-z]+$/;

export interface CheckReport {
  /** `file:line:column - error TSnnnn: message`, one per diagnostic. */
  readonly typeErrors: readonly string[];
  readonly conflicts: readonly string[];
  /** Files under the root that no URL reaches, with why. */
  readonly neverServed: readonly string[];
  readonly checkedFiles: number;
  /** `file:line:column - template error: message`, one per template that does not compile. */
  readonly templateErrors: readonly string[];
  readonly checkedTemplates: number;
}

type TypeScript = typeof import("typescript");

/**
 * TypeScript from the site first (its own version, the one its editor uses), else the one next to
 * tscgi. It is not a dependency of tscgi's runtime: a server in production never needs its 20 MB.
 */
function loadTypeScript(root: string): TypeScript {
  for (const from of [join(root, "noop.js"), fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(from)("typescript") as TypeScript;
    } catch {
      // Try the next place.
    }
  }
  throw new Error("tscgi check needs TypeScript: run `npm install --save-dev typescript` in the site's directory");
}

/** `templates`: the templates directory, whose files are compiled (and are never served). */
export function checkSite(options: ResolverOptions & { cwd: string; templates?: string }): CheckReport {
  const ts = loadTypeScript(options.root);
  const files = sourceFiles(options.root);
  const compilerOptions = siteOptions(ts, options.root);
  const program = ts.createProgram({ rootNames: files.checked, options: compilerOptions });
  const typeErrors = ts.getPreEmitDiagnostics(program).map((d) => formatDiagnostic(ts, d, options.cwd));
  const table = routeTable(options);
  const extensions = options.extensions ?? DEFAULT_EXTENSIONS;
  const neverServed: string[] = [];
  for (const file of files.all) {
    const rel = relative(options.root, file);
    const parts = rel.split(sep);
    const name = parts.at(-1)!;
    if (parts.some((p) => p === "node_modules" || p.startsWith("."))) continue;
    if (options.templates !== undefined && isInside(file, options.templates)) continue;
    const folders = parts.slice(0, -1);
    // _lib and other private folders hold modules the scripts import: never served, by design.
    if (folders.some((p) => p.startsWith("_"))) continue;
    if (name.startsWith("_")) {
      if (!SPECIAL_PRIVATE.test(name)) neverServed.push(`${rel}: its name starts with "_" (put modules that scripts import in _lib/)`);
    } else if (!extensions.some((ext) => name.endsWith(ext))) {
      neverServed.push(`${rel}: its extension is not one of ${extensions.join(" ")} (keep data and assets outside the script root)`);
    }
  }
  const templates = options.templates === undefined ? { errors: [], checkedFiles: 0 } : checkTemplates(options.templates, options.cwd);
  return {
    typeErrors,
    conflicts: table.conflicts.map(describeConflict),
    neverServed,
    checkedFiles: files.checked.length,
    templateErrors: templates.errors,
    checkedTemplates: templates.checkedFiles,
  };
}

/** True when the report fails the command: type errors, template errors or route conflicts. */
export function reportFails(report: CheckReport): boolean {
  return report.typeErrors.length > 0 || report.templateErrors.length > 0 || report.conflicts.length > 0;
}

/** The report as printed; the process exits 1 when reportFails. */
export function formatReport(report: CheckReport): string {
  const lines = [...report.typeErrors, ...report.templateErrors, ...report.conflicts];
  for (const file of report.neverServed) lines.push(`never served: ${file}`);
  lines.push(
    `${report.checkedFiles} file(s) checked: ${report.typeErrors.length} type error(s), ${report.conflicts.length} route conflict(s), ` +
      `${report.neverServed.length} file(s) never served; ${report.checkedTemplates} template(s) checked: ${report.templateErrors.length} template error(s)`,
  );
  return lines.join("\n") + "\n";
}

/**
 * The site's tsconfig.json (in the root or a folder above it) when there is one; otherwise strict
 * settings that match how tscgi runs scripts, with `tscgi` mapped to this installation's types.
 */
function siteOptions(ts: TypeScript, root: string): import("typescript").CompilerOptions {
  const configFile = ts.findConfigFile(root, (path) => ts.sys.fileExists(path));
  const base: import("typescript").CompilerOptions = { noEmit: true };
  if (configFile !== undefined) {
    const read = ts.readConfigFile(configFile, (path) => ts.sys.readFile(path));
    const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dirname(configFile));
    return { ...parsed.options, ...base };
  }
  // This file runs from dist/ (the built command) or from src/scripts/ (tests): the types are in dist/types.
  const here = dirname(fileURLToPath(import.meta.url));
  const typesDir =
    [join(here, "types"), join(here, "..", "..", "dist", "types")].find((dir) => existsSync(join(dir, "index.d.ts"))) ??
    join(here, "types");
  return {
    ...base,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    jsx: ts.JsxEmit.ReactJSX,
    jsxImportSource: "tscgi",
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    baseUrl: root,
    paths: { tscgi: [join(typesDir, "index.d.ts")], "tscgi/jsx-runtime": [join(typesDir, "runtime", "jsx-runtime.d.ts")] },
  };
}

function formatDiagnostic(ts: TypeScript, d: import("typescript").Diagnostic, cwd: string): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file === undefined || d.start === undefined) return `error TS${d.code}: ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${relative(cwd, d.file.fileName)}:${line + 1}:${character + 1} - error TS${d.code}: ${message}`;
}

function isInside(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Every file under the root (node_modules and dot folders skipped), and those to type-check. */
function sourceFiles(root: string): { all: string[]; checked: string[] } {
  const all: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) all.push(path);
    }
  };
  walk(root);
  all.sort();
  return { all, checked: all.filter((f) => CHECKED.some((ext) => f.endsWith(ext)) && !f.endsWith(".d.ts")) };
}
