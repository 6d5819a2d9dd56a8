// Local imports: the relative and absolute specifiers a compiled module requires, and the file each names.

import { realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import { COMPILED_EXTENSIONS } from "./extensions.ts";

// When a .js/.jsx/.mjs/.cjs specifier names no file, its TypeScript twin is tried (TypeScript's convention).
const TYPESCRIPT_TWINS: Record<string, readonly string[]> = {
  ".js": [".ts", ".tsx"],
  ".jsx": [".tsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"],
};

// esbuild prints every static import as require("...") with a double-quoted string.
const REQUIRE_CALL = /\brequire\(("(?:[^"\\\n]|\\.)*")\)/g;

/** The local specifiers (see isPath) that compiled `code` statically requires, in order. */
export function* localImportSpecifiers(code: string): Generator<string> {
  for (const match of code.matchAll(REQUIRE_CALL)) {
    let specifier: string;
    try {
      specifier = JSON.parse(match[1]) as string;
    } catch {
      continue;
    }
    if (isPath(specifier)) yield specifier;
  }
}

/** Resolves local specifiers to real paths, remembering each answer until `clear` (on any change under the root). */
export class LocalImportResolver {
  readonly #resolutions = new Map<string, string | null>();

  /**
   * The real path a relative or absolute specifier names: the exact file, then its TypeScript
   * twin (`./db.js` -> `./db.ts`), then each extension, then `index.*` in a directory.
   */
  resolve(dir: string, specifier: string): string | null {
    const key = dir + "\0" + specifier;
    const cached = this.#resolutions.get(key);
    if (cached !== undefined) return cached;
    const base = resolve(dir, specifier);
    const candidates = [base];
    const dot = base.lastIndexOf(".");
    const twins = dot > base.lastIndexOf(sep) ? TYPESCRIPT_TWINS[base.slice(dot)] : undefined;
    if (twins !== undefined) for (const ext of twins) candidates.push(base.slice(0, dot) + ext);
    for (const ext of COMPILED_EXTENSIONS) candidates.push(base + ext);
    for (const ext of COMPILED_EXTENSIONS) candidates.push(base + sep + "index" + ext);
    let found: string | null = null;
    for (const candidate of candidates) {
      found = realFile(candidate);
      if (found !== null) break;
    }
    this.#resolutions.set(key, found);
    return found;
  }

  clear(): void {
    this.#resolutions.clear();
  }
}

/** The real path of `path` if it is a file; null for anything else, including ENOTDIR and ELOOP. */
function realFile(path: string): string | null {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true ? realpathSync(path) : null;
  } catch {
    return null;
  }
}

/** A specifier naming a local file rather than a package or a builtin. */
export function isPath(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/") || specifier === "." || specifier === "..";
}
