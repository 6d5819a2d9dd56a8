// One local file -> CommonJS with an inline source map, by esbuild's transform (no bundling).

import { extname } from "node:path";
import { createRequire } from "node:module";
import type { TransformFailure, TransformOptions } from "esbuild";
import { ScriptCompileError } from "./errors.ts";
import { loaderFor } from "./extensions.ts";

// CommonJS has no import.meta; esbuild rewrites it to this variable, which the banner defines.
const IMPORT_META = "__tscgi_import_meta";
const IMPORT_META_BANNER =
  `var ${IMPORT_META} = { url: require("node:url").pathToFileURL(__filename).href, ` + "filename: __filename, dirname: __dirname };";

// A script's `console` is its own (a per-file Console the loader puts on `module`): every free
// reference is renamed to this module-local variable, which the banner binds. A one-line banner
// keeps the source map's lines right.
export const SCRIPT_CONSOLE = "__tscgi_console";
const SCRIPT_CONSOLE_BANNER = `var ${SCRIPT_CONSOLE} = module.${SCRIPT_CONSOLE} || console;`;

const TOP_LEVEL_AWAIT = /top-level await/i;

// Loaded on the first compile only: a pool worker whose scripts the master compiles never pays
// for esbuild's module and its service process (about 25 MB together).
let esbuild: typeof import("esbuild") | null = null;
const engine = (): typeof import("esbuild") => (esbuild ??= createRequire(import.meta.url)("esbuild") as typeof import("esbuild"));

export interface CompileOptions {
  /** Package providing `jsx-runtime` for .tsx/.jsx ("react", "preact", "hono/jsx"); "react" by default. */
  jsxImportSource?: string;
  /** Bind `console` to `module.__tscgi_console` (set by the loader) instead of the global one. */
  scriptConsole?: boolean;
}

/** True when `file` is compiled by tscgi: a compiled extension, and not inside node_modules. */
export function isCompiled(file: string): boolean {
  return loaderFor(extname(file)) !== undefined && !/[\\/]node_modules[\\/]/.test(file);
}

export async function compile(file: string, source: string, options: CompileOptions = {}): Promise<string> {
  try {
    return (await engine().transform(source, transformOptions(file, source, options))).code;
  } catch (error) {
    throw toCompileError(file, error);
  }
}

export function compileSync(file: string, source: string, options: CompileOptions = {}): string {
  try {
    return engine().transformSync(source, transformOptions(file, source, options)).code;
  } catch (error) {
    throw toCompileError(file, error);
  }
}

function transformOptions(file: string, source: string, options: CompileOptions): TransformOptions {
  const loader = loaderFor(extname(file)) ?? "js";
  const define: Record<string, string> = {};
  const banner: string[] = [];
  if (source.includes("import.meta")) {
    define["import.meta"] = IMPORT_META;
    banner.push(IMPORT_META_BANNER);
  }
  if (options.scriptConsole === true && loader !== "json" && source.includes("console")) {
    define.console = SCRIPT_CONSOLE;
    banner.push(SCRIPT_CONSOLE_BANNER);
  }
  return {
    loader,
    format: "cjs",
    platform: "node",
    target: `node${process.versions.node}`,
    sourcefile: file,
    // Node maps stack traces through it once process.setSourceMapsEnabled(true) is on. The
    // source text is left out: it would double the memory of every module for no use.
    sourcemap: "inline",
    sourcesContent: false,
    jsx: "automatic",
    ...(options.jsxImportSource !== undefined ? { jsxImportSource: options.jsxImportSource } : {}),
    // import() becomes require(), so dynamic imports of local files are hot-reloaded too.
    supported: { "dynamic-import": false },
    ...(banner.length > 0 ? { define, banner: banner.join(" ") } : {}),
    logLevel: "silent",
  };
}

function toCompileError(file: string, error: unknown): unknown {
  const first = (error as Partial<TransformFailure>).errors?.[0];
  if (first === undefined) return error;
  const line = first.location?.line ?? 1;
  const column = (first.location?.column ?? 0) + 1;
  let text = first.text;
  if (TOP_LEVEL_AWAIT.test(text)) {
    text =
      "top-level await is not supported in scripts, which are loaded as CommonJS so that an edit can replace " +
      "them without leaking memory: move the await into the handler, or start the work at top level and " +
      "await its promise in the handler (`const ready = connect(); export default async (cgi) => { const db = await ready; ... }`)";
  } else if (first.location?.lineText) {
    text += `\n    ${first.location.lineText}`;
  }
  return new ScriptCompileError(file, line, column, text, { cause: error });
}
