// Directory watching for hot reload: one fs.watch (inotify) per directory, following new subdirectories.

import { watch, readdirSync, lstatSync, type FSWatcher } from "node:fs";
import { join, sep } from "node:path";

/**
 * Directories whose trees are not watched: dependencies are not hot-reloaded, and dot
 * directories (.git, .cache) are never routable and churn on their own.
 */
function skipped(name: string): boolean {
  return name === "node_modules" || name.startsWith(".");
}

/**
 * Reports every change under the watched directories as an absolute path: the file or
 * directory named by the event, or the directory itself when the kernel gave no name.
 *
 * One watcher per directory, not per file: editors save by writing a new file and renaming it
 * over the old one, which a per-file watch (bound to the inode) stops seeing. Not
 * `fs.watch(dir, { recursive: true })`: on Linux, Node 20 emulates it by walking the tree
 * asynchronously, which misses events (nodejs/node#48437); here the walk is synchronous.
 */
export class DirectoryWatcher {
  readonly #onChange: (path: string) => void;
  readonly #log: ((message: string) => void) | undefined;
  /** Watched directory -> (watcher, whether its new subdirectories are watched too). */
  readonly #watchers = new Map<string, { watcher: FSWatcher; tree: boolean }>();
  #closed = false;

  constructor(onChange: (path: string) => void, log?: (message: string) => void) {
    this.#onChange = onChange;
    this.#log = log;
  }

  /** Watch `root` and every directory below it, now and as they are created. */
  watchTree(root: string): void {
    if (this.#closed) return;
    this.#add(root, true);
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      return;
    }
    for (const name of names) {
      if (skipped(name)) continue;
      const path = join(root, name);
      if (isDirectory(path)) this.watchTree(path);
    }
  }

  /** Watch one directory, not its subdirectories. */
  watchDirectory(dir: string): void {
    if (this.#closed || this.#watchers.has(dir)) return;
    this.#add(dir, false);
  }

  /** True when `dir` is watched. */
  watches(dir: string): boolean {
    return this.#watchers.has(dir);
  }

  get size(): number {
    return this.#watchers.size;
  }

  close(): void {
    this.#closed = true;
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #add(dir: string, tree: boolean): void {
    const existing = this.#watchers.get(dir);
    if (existing !== undefined) {
      if (tree) existing.tree = true;
      return;
    }
    let watcher: FSWatcher;
    try {
      // Not persistent: watching alone must not keep a process (tscgi cgi FILE, tests) alive.
      watcher = watch(dir, { persistent: false }, (_event, name) => this.#event(dir, name));
    } catch (error) {
      // ENOSPC here means the inotify watch limit: raise fs.inotify.max_user_watches.
      const hint = (error as { code?: unknown }).code === "ENOSPC" ? " (raise the sysctl fs.inotify.max_user_watches)" : "";
      this.#log?.(`cannot watch ${dir} for changes: ${(error as Error).message}${hint}; edits there are not seen until a restart`);
      return;
    }
    // A watched directory that is removed reports an error or simply goes quiet: forget it.
    watcher.on("error", () => this.#forget(dir));
    this.#watchers.set(dir, { watcher, tree });
  }

  #event(dir: string, name: string | Buffer | null): void {
    if (this.#closed) return;
    const path = name === null ? dir : join(dir, name.toString());
    const entry = this.#watchers.get(dir);
    if (entry !== undefined && path !== dir) {
      if (entry.tree && !skipped(path.slice(dir.length + 1)) && isDirectory(path)) {
        // Watch the new subtree before reporting, so a file created in it meanwhile is seen.
        this.watchTree(path);
      } else if (this.#watchers.has(path) && !isDirectory(path)) {
        this.#forget(path);
      }
    }
    this.#onChange(path);
  }

  /** Stop watching `dir` and everything below it (it was removed or renamed away). */
  #forget(dir: string): void {
    for (const [path, { watcher }] of this.#watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close();
        this.#watchers.delete(path);
      }
    }
  }
}

/** A real directory, not a link to one: links are not followed, so a link loop cannot recurse. */
function isDirectory(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}
