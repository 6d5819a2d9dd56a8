// Scripts compiled in the master, once for every worker: workers never load esbuild (its module
// and service process cost about 25 MB each), and N workers do not compile the same file N times.
import { createHash } from "node:crypto";
import { compile, type CompileOptions } from "../scripts/compile.ts";

const MAX_ENTRIES = 2000;

export class CompileCache {
  /** By digest of (file, options, source); Map order is insertion order, refreshed on a hit. */
  readonly #entries = new Map<string, Promise<string | null>>();

  compile(file: string, source: string, options: CompileOptions): Promise<string | null> {
    const key = createHash("sha256").update(file).update("\0").update(JSON.stringify(options)).update("\0").update(source).digest("base64");
    let code = this.#entries.get(key);
    if (code !== undefined) {
      this.#entries.delete(key);
    } else {
      // A compile error is not cached here: the worker compiles that file itself to report it.
      code = compile(file, source, options).catch(() => null);
    }
    this.#entries.set(key, code);
    if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    return code;
  }
}
