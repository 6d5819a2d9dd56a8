// Compiled scripts kept on disk for `tscgi cgi`, where every request is a new process: a request
// reads the compiled file instead of starting esbuild (its service costs more than the script).
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile, type CompileOptions } from "./compile.ts";

export type Compiler = (file: string, source: string, options: CompileOptions) => Promise<string>;

/**
 * Why `dir` cannot hold code this process will run, or null when it can. Code read from it runs
 * as this user, so only this user may write there: a directory another user made first in a
 * shared /tmp (or one others may write) is refused.
 */
function unsafeCacheDir(dir: string): string | null {
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) return `${dir} is not a directory`;
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `${dir} belongs to uid ${stat.uid}, not to this user (uid ${uid})`;
  if ((stat.mode & 0o022) !== 0) return `${dir} may be written by others (mode ${(stat.mode & 0o777).toString(8)})`;
  return null;
}

export class DiskCompileCache {
  readonly #dir: string;
  readonly #version: string;
  readonly #compile: Compiler;
  hits = 0;
  misses = 0;

  private constructor(dir: string, version: string, compiler: Compiler) {
    this.#dir = dir;
    this.#version = version;
    this.#compile = compiler;
  }

  /**
   * The cache in `dir` (made owner-only if missing), or the reason it cannot be used; tscgi then
   * compiles as usual. `version` is part of every key: an upgrade never runs an older build.
   */
  static open(dir: string, version: string, compiler: Compiler = compile): DiskCompileCache | string {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const unsafe = unsafeCacheDir(dir);
      return unsafe === null ? new DiskCompileCache(dir, version, compiler) : `cgi_cache_dir: ${unsafe}; compiling without it`;
    } catch (error) {
      return `cgi_cache_dir: ${(error as Error).message}; compiling without it`;
    }
  }

  /** The path a compile of (file, source, options) is kept at: any change to them is a new key. */
  entry(file: string, source: string, options: CompileOptions): string {
    const key = createHash("sha256")
      .update(this.#version)
      .update("\0")
      .update(file)
      .update("\0")
      .update(JSON.stringify(options))
      .update("\0")
      .update(source)
      .digest("hex");
    return join(this.#dir, `${key}.js`);
  }

  /** For ScriptLoader's `compiler`: the kept output, else a compile that is then kept. */
  readonly compiler: Compiler = async (file, source, options) => {
    const path = this.entry(file, source, options);
    try {
      const code = readFileSync(path, "utf8");
      this.hits++;
      return code;
    } catch {
      // Not kept yet (or unreadable): compile.
    }
    this.misses++;
    const code = await this.#compile(file, source, options);
    // Written aside and renamed: a request running at the same time reads a whole file or none.
    const temp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, code, { mode: 0o600 });
      renameSync(temp, path);
    } catch {
      // A full or read-only disk costs the next request a compile, not this one its answer.
      rmSync(temp, { force: true });
    }
    return code;
  };
}
