// The file extensions tscgi knows: one table that the compiler, the resolver and the config schema read.
import type { Loader } from "esbuild";

interface ExtensionRule {
  /** How esbuild reads the file. */
  readonly loader: Loader;
  /** A URL may run it when `extensions` lists it (.cjs and .json are only ever imported). */
  readonly script: boolean;
  /** In `extensions` by default. */
  readonly byDefault: boolean;
}

/** In the order an import without an extension tries them, and a URL without one (among `extensions`). */
const EXTENSIONS: Readonly<Record<string, ExtensionRule>> = {
  ".ts": { loader: "ts", script: true, byDefault: true },
  ".tsx": { loader: "tsx", script: true, byDefault: true },
  ".mts": { loader: "ts", script: true, byDefault: true },
  ".cts": { loader: "ts", script: true, byDefault: false },
  ".js": { loader: "js", script: true, byDefault: true },
  ".jsx": { loader: "jsx", script: true, byDefault: false },
  ".mjs": { loader: "js", script: true, byDefault: true },
  ".cjs": { loader: "js", script: false, byDefault: false },
  ".json": { loader: "json", script: false, byDefault: false },
};

const all = Object.keys(EXTENSIONS);

/** Extensions compiled (and hot-reloaded) by tscgi when outside node_modules; the rest go to Node. */
export const COMPILED_EXTENSIONS: readonly string[] = all;
/** What `extensions` may list. */
export const SCRIPT_EXTENSIONS: readonly string[] = all.filter((ext) => EXTENSIONS[ext].script);
/** `extensions` by default, in order of preference. */
export const DEFAULT_EXTENSIONS: readonly string[] = all.filter((ext) => EXTENSIONS[ext].byDefault);

/** esbuild's loader for a compiled file's extension, undefined for any other. */
export function loaderFor(extension: string): Loader | undefined {
  return Object.hasOwn(EXTENSIONS, extension) ? EXTENSIONS[extension].loader : undefined;
}
