// The script loader: local files compiled to CommonJS, evaluated outside Node's module cache, dropped when they change.

import { readFileSync, realpathSync, statSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { CommonJs, type CommonJsModule } from "../node-internals.ts";
import { SCRIPT_CONSOLE, compile, compileSync, isCompiled, type CompileOptions } from "./compile.ts";
import { RequireEsmError, ScriptCompileError, ScriptImportError, ScriptNotFoundError, ScriptRootError } from "./errors.ts";
import { LocalImportResolver, isPath, localImportSpecifiers } from "./local-imports.ts";
import { DirectoryWatcher } from "./watcher.ts";

export interface LoaderOptions {
  /** Script root: its whole directory tree is watched, so new and deleted scripts are noticed. */
  root: string;
  /** Specifiers satisfied by the host: `{ tscgi: api }` makes `import { x } from "tscgi"` read `api.x`. */
  hostModules?: Record<string, unknown>;
  log?: (level: "info" | "warn" | "error", message: string) => void;
  /** Package providing `jsx-runtime` for .tsx/.jsx files; "react" by default. */
  jsxImportSource?: string;
  /**
   * The `console` each compiled file sees, by real path (to catch and decorate script output);
   * asked for once per evaluation of a file that mentions `console`. Absent: the global console.
   */
  consoleFor?: (file: string) => Console;
  /**
   * Compiles ahead of evaluation instead of this process's esbuild (a pool worker asks its master,
   * which compiles each file once for all workers). Its errors should be ScriptCompileErrors.
   */
  compiler?: (file: string, source: string, options: CompileOptions) => Promise<string>;
  /** Told of each evaluated module dropped (edited, or unloadAll), to run its dispose (see module-lifecycle.ts). */
  onDrop?: (file: string, exports: ScriptExports) => void;
  /**
   * When an edit of a script (or of a module it imports) does not compile, keep answering with the
   * version evaluated before the edit (default true). Off for display_errors, which shows the error.
   */
  keepLastGood?: boolean;
}

/** A file whose current text does not compile, for the status page. */
export interface BrokenScript {
  /** Relative to the script root. */
  file: string;
  line: number;
  column: number;
  /** The compiler's message, one line. */
  message: string;
  /** Scripts (relative to the root) answering with their last good version meanwhile. */
  lastGood: string[];
}

/** What `load` answers: a module namespace, with the default export under `default`. */
export type ScriptExports = Record<string, unknown>;

const nodeRequire = CommonJs.prototype.require;

/** One evaluated local module and its edges in the import graph. */
class Entry {
  /** Set once evaluation finished; unset when dropped. */
  namespace: ScriptExports | undefined = undefined;
  readonly imports = new Set<Entry>();
  readonly importedBy = new Set<Entry>();
  constructor(
    readonly file: string,
    readonly module: CommonJsModule,
  ) {}
}

/**
 * Node cannot evict an ES module from its cache, so importing a fresh ES module per edit would
 * grow memory forever. Local files are compiled to CommonJS instead and evaluated as Module
 * objects that are never put in `Module._cache`: a dropped module is garbage like any object.
 * Local imports share one instance per file (a pool at module scope is shared by all scripts);
 * npm packages and builtins go through Node's own require and cache.
 */
export class ScriptLoader {
  readonly root: string;
  readonly #host: Record<string, unknown>;
  readonly #log: NonNullable<LoaderOptions["log"]>;
  readonly #compileOptions: CompileOptions;
  readonly #compile: NonNullable<LoaderOptions["compiler"]>;
  readonly #consoleFor: LoaderOptions["consoleFor"];
  readonly #onDrop: LoaderOptions["onDrop"];
  readonly #watcher: DirectoryWatcher;
  readonly #listeners: Array<(path: string) => void> = [];
  /** Evaluated (or evaluating) modules by real path. */
  readonly #entries = new Map<string, Entry>();
  /** The hot path: the file name `load` was called with -> its evaluated entry. */
  readonly #loaded = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<ScriptExports>>();
  /** Code compiled ahead of evaluation, off the event loop. */
  readonly #compiled = new Map<string, string>();
  /** Compile errors, kept until the file changes so a broken script is not recompiled per request. */
  readonly #failures = new Map<string, ScriptCompileError>();
  readonly #localImports = new LocalImportResolver();
  /** Bumped on every change, so compiles that started before it are discarded. */
  #generation = 0;
  readonly #keepLastGood: boolean;
  /** The exports of the last successful load, by the name `load` was called with. */
  readonly #lastGood = new Map<string, ScriptExports>();
  /** Scripts answering with their last good version because an edit broke them, and the error; cleared on every change. */
  readonly #serving = new Map<string, { exports: ScriptExports; cause: ScriptCompileError }>();
  /** Per compile error, the scripts already logged as "the last good version keeps serving". */
  readonly #reported = new WeakMap<ScriptCompileError, Set<string>>();

  constructor(options: LoaderOptions) {
    try {
      this.root = realpathSync(options.root);
      if (!statSync(this.root).isDirectory()) throw new Error("not a directory");
    } catch (cause) {
      throw new ScriptRootError(options.root, { cause });
    }
    this.#host = options.hostModules ?? {};
    this.#log = options.log ?? (() => {});
    this.#compileOptions = {
      ...(options.jsxImportSource !== undefined ? { jsxImportSource: options.jsxImportSource } : {}),
      ...(options.consoleFor !== undefined ? { scriptConsole: true } : {}),
    };
    this.#consoleFor = options.consoleFor;
    this.#onDrop = options.onDrop;
    this.#compile = options.compiler ?? compile;
    this.#keepLastGood = options.keepLastGood ?? true;
    this.#watcher = new DirectoryWatcher(
      (path) => this.#changed(path),
      (message) => this.#log("warn", message),
    );
    this.#watcher.watchTree(this.root);
  }

  /**
   * The exports of `file`. While nothing changed, the cached namespace is returned synchronously
   * (no stat, no await, no allocation); a Promise only on first load and after a change.
   */
  load(file: string): ScriptExports | Promise<ScriptExports> {
    const namespace = this.#loaded.get(file)?.namespace;
    if (namespace !== undefined) return namespace;
    const fallback = this.#serving.get(file);
    if (fallback !== undefined) return fallback.exports;
    let pending = this.#pending.get(file);
    if (pending === undefined) {
      pending = this.#loadSlow(file);
      this.#pending.set(file, pending);
      const settled = () => this.#pending.delete(file);
      pending.then(settled, settled);
    }
    return pending;
  }

  /**
   * Call `listener` with the path of anything created, deleted, renamed or written under the
   * watched directories, after the modules it affects were dropped. Returns the unsubscribe.
   */
  onChange(listener: (path: string) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index !== -1) this.#listeners.splice(index, 1);
    };
  }

  /** Drops every module, as if each had changed: for a process that stops serving. */
  unloadAll(): void {
    for (const entry of [...this.#entries.values()]) this.#drop(entry);
  }

  /** Stop watching. Loaded modules stay usable, but edits are no longer noticed. */
  close(): void {
    this.#watcher.close();
    this.#listeners.length = 0;
  }

  /**
   * Files whose current text does not compile: the ones scripts failed on since their last change,
   * with the scripts that answer with their last good version meanwhile.
   */
  broken(): BrokenScript[] {
    const out: BrokenScript[] = [];
    for (const [file, error] of this.#failures) {
      const lastGood: string[] = [];
      for (const [script, { cause }] of this.#serving) if (cause === error) lastGood.push(relative(this.root, script));
      out.push({ file: relative(this.root, file), line: error.line, column: error.column, message: firstLine(error), lastGood });
    }
    return out;
  }

  async #loadSlow(file: string): Promise<ScriptExports> {
    let real: string;
    try {
      real = await realpath(file);
    } catch (cause) {
      this.#lastGood.delete(file);
      throw Object.assign(new ScriptNotFoundError(file, "the file no longer exists"), { cause });
    }
    let entry: Entry;
    try {
      await this.#precompile(real, new Set());
      entry = this.#require(real, undefined);
    } catch (error) {
      const lastGood = this.#lastGood.get(file);
      if (!(error instanceof ScriptCompileError) || lastGood === undefined || !this.#keepLastGood) throw error;
      this.#serving.set(file, { exports: lastGood, cause: error });
      const reported = this.#reported.get(error) ?? new Set<string>();
      this.#reported.set(error, reported);
      if (!reported.has(file)) {
        reported.add(file);
        this.#log(
          "error",
          `${relative(process.cwd(), error.file)}:${error.line}:${error.column}: ${firstLine(error)}; ` +
            `the last good version of ${relative(this.root, file)} keeps answering until the file compiles`,
        );
      }
      return lastGood;
    }
    this.#loaded.set(file, entry);
    this.#lastGood.set(file, entry.namespace!);
    return entry.namespace!;
  }

  /**
   * Compile `file` and the local files it statically imports, concurrently and off the event
   * loop. Best effort: evaluation compiles synchronously whatever is missing.
   */
  async #precompile(file: string, seen: Set<string>): Promise<void> {
    if (seen.has(file) || this.#entries.has(file) || this.#failures.has(file)) return;
    seen.add(file);
    let code = this.#compiled.get(file);
    if (code === undefined) {
      const generation = this.#generation;
      let source: string;
      try {
        source = await readFile(file, "utf8");
        code = await this.#compile(file, source, this.#compileOptions);
      } catch (error) {
        if (error instanceof ScriptCompileError && generation === this.#generation) this.#failures.set(file, error);
        return;
      }
      if (generation !== this.#generation) return;
      this.#compiled.set(file, code);
    }
    const dir = dirname(file);
    const imports: Promise<void>[] = [];
    for (const specifier of localImportSpecifiers(code)) {
      const dependency = this.#localImports.resolve(dir, specifier);
      if (dependency !== null && isCompiled(dependency)) imports.push(this.#precompile(dependency, seen));
    }
    await Promise.all(imports);
  }

  /** The entry of `file`, evaluating it if needed, with the edge importer -> file recorded. */
  #require(file: string, importer: Entry | undefined): Entry {
    const entry = this.#entries.get(file) ?? this.#evaluate(file);
    if (importer !== undefined) {
      importer.imports.add(entry);
      entry.importedBy.add(importer);
    }
    return entry;
  }

  #evaluate(file: string): Entry {
    const failure = this.#failures.get(file);
    if (failure !== undefined) throw failure;
    let code = this.#compiled.get(file);
    if (code !== undefined) {
      this.#compiled.delete(file);
    } else {
      try {
        code = compileSync(file, readFileSync(file, "utf8"), this.#compileOptions);
      } catch (error) {
        if (error instanceof ScriptCompileError) this.#failures.set(file, error);
        throw error;
      }
    }
    const module = new CommonJs(file);
    module.filename = file;
    module.paths = CommonJs._nodeModulePaths(dirname(file));
    const entry = new Entry(file, module);
    module.require = (id: string) => this.#requireFrom(entry, id);
    const consoleFor = this.#consoleFor;
    if (consoleFor !== undefined) {
      // Read by the compiled code's first line (see compile.ts); a getter, so a file that never
      // logs costs no Console.
      Object.defineProperty(module, SCRIPT_CONSOLE, { get: () => consoleFor(file) });
    }
    // Registered before evaluation, so an import cycle gets the partial exports, as in Node.
    this.#entries.set(file, entry);
    this.#watchDirectoryOf(file);
    try {
      module._compile(code, file);
    } catch (error) {
      this.#drop(entry);
      throw error;
    }
    module.loaded = true;
    entry.namespace = namespaceOf(module.exports);
    return entry;
  }

  /** `require(id)` as seen by the local module `entry`. */
  #requireFrom(entry: Entry, id: string): unknown {
    if (Object.hasOwn(this.#host, id)) return this.#host[id];
    if (isPath(id)) {
      const file = this.#localImports.resolve(dirname(entry.file), id);
      if (file === null) throw new ScriptImportError(entry.file, id);
      if (isCompiled(file)) return this.#require(file, entry).module.exports;
      return nodeRequire.call(entry.module, file);
    }
    try {
      return nodeRequire.call(entry.module, id);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "ERR_REQUIRE_ESM" || code === "ERR_REQUIRE_ASYNC_MODULE") {
        throw new RequireEsmError(entry.file, id, code === "ERR_REQUIRE_ASYNC_MODULE", { cause: error });
      }
      throw error;
    }
  }

  #watchDirectoryOf(file: string): void {
    const dir = dirname(file);
    if (!this.#watcher.watches(dir)) this.#watcher.watchDirectory(dir);
  }

  /** Something under a watched directory changed: drop what depends on it, then tell the listeners. */
  #changed(path: string): void {
    this.#generation++;
    this.#localImports.clear();
    // The edit may be the fix: the next load of each of them compiles again.
    this.#serving.clear();
    const under = (file: string) => file === path || file.startsWith(path + sep);
    for (const file of [...this.#compiled.keys()]) if (under(file)) this.#compiled.delete(file);
    for (const file of [...this.#failures.keys()]) if (under(file)) this.#failures.delete(file);
    const stale = [...this.#entries.values()].filter((entry) => under(entry.file));
    if (stale.length > 0) {
      const before = this.#entries.size;
      for (const entry of stale) this.#drop(entry);
      this.#log("info", `${path} changed: ${before - this.#entries.size} module(s) reload on their next use`);
    }
    for (const listener of [...this.#listeners]) listener(path);
  }

  /** Forget `entry` and, transitively, every module that imports it. */
  #drop(entry: Entry): void {
    if (this.#entries.get(entry.file) !== entry) return;
    this.#entries.delete(entry.file);
    const namespace = entry.namespace;
    entry.namespace = undefined;
    if (namespace !== undefined) this.#onDrop?.(entry.file, namespace);
    for (const [file, loaded] of this.#loaded) if (loaded === entry) this.#loaded.delete(file);
    for (const imported of entry.imports) imported.importedBy.delete(entry);
    entry.imports.clear();
    const importers = [...entry.importedBy];
    entry.importedBy.clear();
    for (const importer of importers) this.#drop(importer);
  }
}

/** A compile error's text without its location (which the error has as fields) or the quoted source line. */
function firstLine(error: ScriptCompileError): string {
  const text = error.message.slice(error.message.indexOf(`:${error.line}:${error.column}: `) + `:${error.line}:${error.column}: `.length);
  return text.split("\n")[0];
}

/** esbuild marks converted ES modules with __esModule; a CommonJS module's exports become the default. */
function namespaceOf(exports: unknown): ScriptExports {
  if (typeof exports === "object" && exports !== null && (exports as { __esModule?: unknown }).__esModule === true) {
    return exports as ScriptExports;
  }
  const namespace: ScriptExports = { default: exports };
  if ((typeof exports === "object" && exports !== null) || typeof exports === "function") {
    for (const [key, value] of Object.entries(exports)) if (key !== "default") namespace[key] = value;
  }
  return namespace;
}
