// Scripts as log lines name them: their path relative to the root, worked out once per file.
import { relative } from "node:path";

/** Script paths relative to the root kept for log lines; past this many, the cache starts over. */
const SCRIPT_NAME_CACHE_SIZE = 10_000;

export class ScriptNames {
  readonly #root: string;
  readonly #names = new Map<string, string>();

  constructor(root: string) {
    this.#root = root;
  }

  /** `file` relative to the root (the file itself when that is empty). */
  of(file: string): string {
    let name = this.#names.get(file);
    if (name === undefined) {
      name = relative(this.#root, file) || file;
      if (this.#names.size > SCRIPT_NAME_CACHE_SIZE) this.#names.clear();
      this.#names.set(file, name);
    }
    return name;
  }
}
