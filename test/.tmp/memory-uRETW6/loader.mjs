// src/scripts/loader.ts
import Module from "node:module";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { dirname, resolve, sep as sep2 } from "node:path";

// src/scripts/compile.ts
import { extname } from "node:path";
import { transform, transformSync } from "esbuild";

// src/errors.ts
var BRAND = /* @__PURE__ */ Symbol.for("tscgi.error");
var TscgiError = class extends Error {
  /** The HTTP status a request that fails with this error is answered with. */
  status = 500;
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
  get [BRAND]() {
    return true;
  }
};

// src/scripts/errors.ts
var ScriptNotFoundError = class extends TscgiError {
  code = "TSCGI_E_SCRIPT_NOT_FOUND";
  status = 404;
  path;
  reason;
  constructor(path, reason = "no matching file") {
    super(
      `No script answers ${JSON.stringify(path)}: add a script for it under the script root (names starting with "_" or "." and links leading out of the root are never served)`
    );
    this.path = path;
    this.reason = reason;
  }
};
var ScriptRootError = class extends TscgiError {
  code = "TSCGI_E_SCRIPT_ROOT";
  root;
  constructor(root, options) {
    super(
      `Script root ${JSON.stringify(root)} is not a readable directory: create it or point the root setting at your scripts`,
      options
    );
    this.root = root;
  }
};
var ScriptCompileError = class extends TscgiError {
  code = "TSCGI_E_SCRIPT_COMPILE";
  file;
  line;
  column;
  constructor(file, line, column, text, options) {
    super(`${file}:${line}:${column}: ${text}`, options);
    this.file = file;
    this.line = line;
    this.column = column;
  }
};
var ScriptImportError = class extends TscgiError {
  code = "TSCGI_E_SCRIPT_IMPORT";
  file;
  specifier;
  constructor(file, specifier) {
    super(
      `${file}: cannot find ${JSON.stringify(specifier)} (tried the exact name, .ts for .js, each script extension and index.*): fix the import path or create the file`
    );
    this.file = file;
    this.specifier = specifier;
  }
};
var RequireEsmError = class extends TscgiError {
  code = "TSCGI_E_REQUIRE_ESM";
  file;
  specifier;
  constructor(file, specifier, topLevelAwait, options) {
    super(
      topLevelAwait ? `${file}: package ${JSON.stringify(specifier)} uses top-level await, which require() cannot load, and scripts' imports (static and dynamic) are compiled to require(): pick a version of the package without top-level await, or have the host provide it as a host module` : `${file}: package ${JSON.stringify(specifier)} is an ES module only, which scripts can import on Node >= 20.19 or >= 22.12 (older Node 20 and 22 need node --experimental-require-module); upgrade Node, use that flag, or pick a version of the package that ships CommonJS`,
      options
    );
    this.file = file;
    this.specifier = specifier;
  }
};

// src/scripts/compile.ts
var COMPILED_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json"];
var LOADERS = {
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".tsx": "tsx",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".jsx": "jsx",
  ".json": "json"
};
var IMPORT_META = "__tscgi_import_meta";
var IMPORT_META_BANNER = `var ${IMPORT_META} = { url: require("node:url").pathToFileURL(__filename).href, filename: __filename, dirname: __dirname };`;
var TOP_LEVEL_AWAIT = /top-level await/i;
function isCompiled(file) {
  return Object.hasOwn(LOADERS, extname(file)) && !/[\\/]node_modules[\\/]/.test(file);
}
async function compile(file, source, options = {}) {
  try {
    return (await transform(source, transformOptions(file, source, options))).code;
  } catch (error) {
    throw toCompileError(file, error);
  }
}
function compileSync(file, source, options = {}) {
  try {
    return transformSync(source, transformOptions(file, source, options)).code;
  } catch (error) {
    throw toCompileError(file, error);
  }
}
function transformOptions(file, source, options) {
  const usesImportMeta = source.includes("import.meta");
  return {
    loader: LOADERS[extname(file)] ?? "js",
    format: "cjs",
    platform: "node",
    target: `node${process.versions.node}`,
    sourcefile: file,
    // Node maps stack traces through it once process.setSourceMapsEnabled(true) is on. The
    // source text is left out: it would double the memory of every module for no use.
    sourcemap: "inline",
    sourcesContent: false,
    jsx: "automatic",
    ...options.jsxImportSource !== void 0 ? { jsxImportSource: options.jsxImportSource } : {},
    // import() becomes require(), so dynamic imports of local files are hot-reloaded too.
    supported: { "dynamic-import": false },
    ...usesImportMeta ? { define: { "import.meta": IMPORT_META }, banner: IMPORT_META_BANNER } : {},
    logLevel: "silent"
  };
}
function toCompileError(file, error) {
  const first = error.errors?.[0];
  if (first === void 0) return error;
  const line = first.location?.line ?? 1;
  const column = (first.location?.column ?? 0) + 1;
  let text = first.text;
  if (TOP_LEVEL_AWAIT.test(text)) {
    text = "top-level await is not supported in scripts, which are loaded as CommonJS so that an edit can replace them without leaking memory: move the await into the handler, or start the work at top level and await its promise in the handler (`const ready = connect(); export default async (cgi) => { const db = await ready; ... }`)";
  } else if (first.location?.lineText) {
    text += `
    ${first.location.lineText}`;
  }
  return new ScriptCompileError(file, line, column, text, { cause: error });
}

// src/scripts/watcher.ts
import { watch, readdirSync, lstatSync } from "node:fs";
import { join, sep } from "node:path";
function skipped(name) {
  return name === "node_modules" || name.startsWith(".");
}
var DirectoryWatcher = class {
  #onChange;
  #log;
  /** Watched directory -> (watcher, whether its new subdirectories are watched too). */
  #watchers = /* @__PURE__ */ new Map();
  #closed = false;
  constructor(onChange, log) {
    this.#onChange = onChange;
    this.#log = log;
  }
  /** Watch `root` and every directory below it, now and as they are created. */
  watchTree(root) {
    if (this.#closed) return;
    this.#add(root, true);
    let names;
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
  watchDirectory(dir) {
    if (this.#closed || this.#watchers.has(dir)) return;
    this.#add(dir, false);
  }
  /** True when `dir` is watched. */
  watches(dir) {
    return this.#watchers.has(dir);
  }
  get size() {
    return this.#watchers.size;
  }
  close() {
    this.#closed = true;
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
  #add(dir, tree) {
    const existing = this.#watchers.get(dir);
    if (existing !== void 0) {
      if (tree) existing.tree = true;
      return;
    }
    let watcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.#event(dir, name));
    } catch (error) {
      this.#log?.(`cannot watch ${dir} for changes (${error.message}); edits there need a restart`);
      return;
    }
    watcher.on("error", () => this.#forget(dir));
    this.#watchers.set(dir, { watcher, tree });
  }
  #event(dir, name) {
    if (this.#closed) return;
    const path = name === null ? dir : join(dir, name.toString());
    const entry = this.#watchers.get(dir);
    if (entry !== void 0 && path !== dir) {
      if (entry.tree && !skipped(path.slice(dir.length + 1)) && isDirectory(path)) {
        this.watchTree(path);
      } else if (this.#watchers.has(path) && !isDirectory(path)) {
        this.#forget(path);
      }
    }
    this.#onChange(path);
  }
  /** Stop watching `dir` and everything below it (it was removed or renamed away). */
  #forget(dir) {
    for (const [path, { watcher }] of this.#watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        watcher.close();
        this.#watchers.delete(path);
      }
    }
  }
};
function isDirectory(path) {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

// src/scripts/loader.ts
var CommonJs = Module;
var nodeRequire = CommonJs.prototype.require;
var Entry = class {
  constructor(file, module) {
    this.file = file;
    this.module = module;
  }
  file;
  module;
  /** Set once evaluation finished; unset when dropped. */
  namespace = void 0;
  imports = /* @__PURE__ */ new Set();
  importedBy = /* @__PURE__ */ new Set();
};
var TYPESCRIPT_TWINS = {
  ".js": [".ts", ".tsx"],
  ".jsx": [".tsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"]
};
var REQUIRE_CALL = /\brequire\(("(?:[^"\\\n]|\\.)*")\)/g;
var ScriptLoader = class {
  root;
  #host;
  #log;
  #compileOptions;
  #watcher;
  #listeners = [];
  /** Evaluated (or evaluating) modules by real path. */
  #entries = /* @__PURE__ */ new Map();
  /** The hot path: the file name `load` was called with -> its evaluated entry. */
  #loaded = /* @__PURE__ */ new Map();
  #pending = /* @__PURE__ */ new Map();
  /** Code compiled ahead of evaluation, off the event loop. */
  #compiled = /* @__PURE__ */ new Map();
  /** Compile errors, kept until the file changes so a broken script is not recompiled per request. */
  #failures = /* @__PURE__ */ new Map();
  #resolutions = /* @__PURE__ */ new Map();
  /** Bumped on every change, so compiles that started before it are discarded. */
  #generation = 0;
  constructor(options) {
    try {
      this.root = realpathSync(options.root);
      if (!statSync(this.root).isDirectory()) throw new Error("not a directory");
    } catch (cause) {
      throw new ScriptRootError(options.root, { cause });
    }
    this.#host = options.hostModules ?? {};
    this.#log = options.log ?? (() => {
    });
    this.#compileOptions = options.jsxImportSource !== void 0 ? { jsxImportSource: options.jsxImportSource } : {};
    this.#watcher = new DirectoryWatcher(
      (path) => this.#changed(path),
      (message) => this.#log("warn", message)
    );
    this.#watcher.watchTree(this.root);
  }
  /**
   * The exports of `file`. While nothing changed, the cached namespace is returned synchronously
   * (no stat, no await, no allocation); a Promise only on first load and after a change.
   */
  load(file) {
    const namespace = this.#loaded.get(file)?.namespace;
    if (namespace !== void 0) return namespace;
    let pending = this.#pending.get(file);
    if (pending === void 0) {
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
  onChange(listener) {
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index !== -1) this.#listeners.splice(index, 1);
    };
  }
  /** Stop watching. Loaded modules stay usable, but edits are no longer noticed. */
  close() {
    this.#watcher.close();
    this.#listeners.length = 0;
  }
  async #loadSlow(file) {
    let real;
    try {
      real = await realpath(file);
    } catch (cause) {
      throw Object.assign(new ScriptNotFoundError(file, "the file no longer exists"), { cause });
    }
    await this.#precompile(real, /* @__PURE__ */ new Set());
    const entry = this.#require(real, void 0);
    this.#loaded.set(file, entry);
    return entry.namespace;
  }
  /**
   * Compile `file` and the local files it statically imports, concurrently and off the event
   * loop. Best effort: evaluation compiles synchronously whatever is missing.
   */
  async #precompile(file, seen) {
    if (seen.has(file) || this.#entries.has(file) || this.#failures.has(file)) return;
    seen.add(file);
    let code = this.#compiled.get(file);
    if (code === void 0) {
      const generation = this.#generation;
      let source;
      try {
        source = await readFile(file, "utf8");
        code = await compile(file, source, this.#compileOptions);
      } catch (error) {
        if (error instanceof ScriptCompileError && generation === this.#generation) this.#failures.set(file, error);
        return;
      }
      if (generation !== this.#generation) return;
      this.#compiled.set(file, code);
    }
    const dir = dirname(file);
    const imports = [];
    for (const match of code.matchAll(REQUIRE_CALL)) {
      const specifier = JSON.parse(match[1]);
      if (!isPath(specifier)) continue;
      const dependency = this.#resolveLocal(dir, specifier);
      if (dependency !== null && isCompiled(dependency)) imports.push(this.#precompile(dependency, seen));
    }
    await Promise.all(imports);
  }
  /** The entry of `file`, evaluating it if needed, with the edge importer -> file recorded. */
  #require(file, importer) {
    const entry = this.#entries.get(file) ?? this.#evaluate(file);
    if (importer !== void 0) {
      importer.imports.add(entry);
      entry.importedBy.add(importer);
    }
    return entry;
  }
  #evaluate(file) {
    const failure = this.#failures.get(file);
    if (failure !== void 0) throw failure;
    let code = this.#compiled.get(file);
    if (code !== void 0) {
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
    module.require = (id) => this.#requireFrom(entry, id);
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
  #requireFrom(entry, id) {
    if (Object.hasOwn(this.#host, id)) return this.#host[id];
    if (isPath(id)) {
      const file = this.#resolveLocal(dirname(entry.file), id);
      if (file === null) throw new ScriptImportError(entry.file, id);
      if (isCompiled(file)) return this.#require(file, entry).module.exports;
      return nodeRequire.call(entry.module, file);
    }
    try {
      return nodeRequire.call(entry.module, id);
    } catch (error) {
      const code = error.code;
      if (code === "ERR_REQUIRE_ESM" || code === "ERR_REQUIRE_ASYNC_MODULE") {
        throw new RequireEsmError(entry.file, id, code === "ERR_REQUIRE_ASYNC_MODULE", { cause: error });
      }
      throw error;
    }
  }
  /**
   * The real path a relative or absolute specifier names: the exact file, then its TypeScript
   * twin (`./db.js` -> `./db.ts`), then each extension, then `index.*` in a directory.
   */
  #resolveLocal(dir, specifier) {
    const key = dir + "\0" + specifier;
    const cached = this.#resolutions.get(key);
    if (cached !== void 0) return cached;
    const base = resolve(dir, specifier);
    const candidates = [base];
    const dot = base.lastIndexOf(".");
    const twins = dot > base.lastIndexOf(sep2) ? TYPESCRIPT_TWINS[base.slice(dot)] : void 0;
    if (twins !== void 0) for (const ext of twins) candidates.push(base.slice(0, dot) + ext);
    for (const ext of COMPILED_EXTENSIONS) candidates.push(base + ext);
    for (const ext of COMPILED_EXTENSIONS) candidates.push(base + sep2 + "index" + ext);
    let found = null;
    for (const candidate of candidates) {
      found = realFile(candidate);
      if (found !== null) break;
    }
    this.#resolutions.set(key, found);
    return found;
  }
  #watchDirectoryOf(file) {
    const dir = dirname(file);
    if (!this.#watcher.watches(dir)) this.#watcher.watchDirectory(dir);
  }
  /** Something under a watched directory changed: drop what depends on it, then tell the listeners. */
  #changed(path) {
    this.#generation++;
    this.#resolutions.clear();
    const under = (file) => file === path || file.startsWith(path + sep2);
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
  #drop(entry) {
    if (this.#entries.get(entry.file) !== entry) return;
    this.#entries.delete(entry.file);
    entry.namespace = void 0;
    for (const [file, loaded] of this.#loaded) if (loaded === entry) this.#loaded.delete(file);
    for (const imported of entry.imports) imported.importedBy.delete(entry);
    entry.imports.clear();
    const importers = [...entry.importedBy];
    entry.importedBy.clear();
    for (const importer of importers) this.#drop(importer);
  }
};
function realFile(path) {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isFile() === true ? realpathSync(path) : null;
  } catch {
    return null;
  }
}
function isPath(specifier) {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/") || specifier === "." || specifier === "..";
}
function namespaceOf(exports) {
  if (typeof exports === "object" && exports !== null && exports.__esModule === true) {
    return exports;
  }
  const namespace = { default: exports };
  if (typeof exports === "object" && exports !== null || typeof exports === "function") {
    for (const [key, value] of Object.entries(exports)) if (key !== "default") namespace[key] = value;
  }
  return namespace;
}
export {
  ScriptLoader
};
