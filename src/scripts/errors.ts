// Errors of the scripts layer: resolving a URL path to a file, compiling it, loading its exports.

import { TscgiError } from "../errors.ts";

/**
 * No script answers the path. Also the answer for paths that are refused without revealing
 * whether something exists there: names starting with `_` or `.`, node_modules, files whose extension is not
 * allow-listed, and links that leave the script root. `reason` says which, for the error log only.
 */
export class ScriptNotFoundError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_NOT_FOUND";
  override readonly status = 404;
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason = "no matching file") {
    super(
      `no script answers ${JSON.stringify(path)}: add a script for it under the script root ` +
        `(names starting with "_" or ".", node_modules, and links leading out of the root are never served)`,
    );
    this.path = path;
    this.reason = reason;
  }
}

/** The request path is malformed or an attack: NUL, backslash, encoded slash, `.` or `..` segment. */
export class ScriptBadPathError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_BAD_PATH";
  override readonly status = 400;
  readonly path: string;

  constructor(path: string, fault: string) {
    super(`refused request path ${JSON.stringify(path)}: ${fault}`);
    this.path = path;
  }
}

/** The configured script root does not exist or is not a directory. */
export class ScriptRootError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_ROOT";
  readonly root: string;

  constructor(root: string, options?: { cause?: unknown }) {
    super(`script root ${JSON.stringify(root)} is not a readable directory: create it or point the root setting at your scripts`, options);
    this.root = root;
  }
}

/** esbuild could not compile the file; `file`, `line` (1-based) and `column` (1-based) locate the first error. */
export class ScriptCompileError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_COMPILE";
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(file: string, line: number, column: number, text: string, options?: { cause?: unknown }) {
    super(`${file}:${line}:${column}: ${text}`, options);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** The script's default export is neither a function nor an object with a `fetch` method. */
export class ScriptExportError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_EXPORT";
  readonly file: string;

  constructor(file: string, found: string) {
    super(
      `${file}: the default export is ${found}; export a function ` +
        "(`export default function (cgi) { ... }`) or an object with a fetch method " +
        "(`export default { fetch(request) { ... } }`)",
    );
    this.file = file;
  }
}

/** A relative or absolute import names a file that does not exist. */
export class ScriptImportError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_IMPORT";
  readonly file: string;
  readonly specifier: string;

  constructor(file: string, specifier: string) {
    super(
      `${file}: cannot find ${JSON.stringify(specifier)} (tried the exact name, .ts for .js, ` +
        "each script extension and index.*): fix the import path or create the file",
    );
    this.file = file;
    this.specifier = specifier;
  }
}

/**
 * An npm package that only ships ES modules could not be required: Node before 20.19 cannot
 * require() ES modules at all, and no Node can when the package uses top-level await.
 */
export class RequireEsmError extends TscgiError {
  readonly code = "TSCGI_E_SCRIPT_REQUIRE_ESM";
  readonly file: string;
  readonly specifier: string;

  constructor(file: string, specifier: string, topLevelAwait: boolean, options?: { cause?: unknown }) {
    super(
      topLevelAwait
        ? `${file}: package ${JSON.stringify(specifier)} uses top-level await, which require() cannot load, ` +
            "and scripts' imports (static and dynamic) are compiled to require(): pick a version of the " +
            "package without top-level await, or have the host provide it as a host module"
        : `${file}: package ${JSON.stringify(specifier)} is an ES module only, which scripts can import on ` +
            "Node >= 20.19 or >= 22.12 (older Node 20 and 22 need node --experimental-require-module); " +
            "upgrade Node, use that flag, or pick a version of the package that ships CommonJS",
      options,
    );
    this.file = file;
    this.specifier = specifier;
  }
}
