// cgi.render()'s renderer: Nunjucks (Jinja2's language) over the templates directory, autoescape on,
// each template compiled once and dropped when anything under the directory changes.
import { readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import type nunjucks from "nunjucks";
import { TscgiError, isTscgiError } from "../errors.ts";
import { checkTemplateName, type TemplateRenderer } from "../runtime/templates.ts";
import { DirectoryWatcher } from "../scripts/watcher.ts";

type Nunjucks = typeof nunjucks;
/** Environment.invalidateCache() is public since Nunjucks 3.2 but missing from @types/nunjucks. */
type Environment = nunjucks.Environment & { invalidateCache(): void };

export class TemplateNotFoundError extends TscgiError {
  readonly code = "TSCGI_E_TEMPLATE_NOT_FOUND";
  constructor(name: string, dir: string, fault: string) {
    super(`template ${JSON.stringify(name)} not found in ${shown(dir)}: ${fault}; check the name, or set templates to its directory`);
  }
}

/** A template that does not compile, or that failed while rendering (a filter that threw, say). */
export class TemplateError extends TscgiError {
  readonly code = "TSCGI_E_TEMPLATE";
  /** The template's absolute path, and where in it (1-based); the development page shows the source there. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  constructor(file: string, line: number, column: number, detail: string, options?: { cause?: unknown }) {
    super(`template ${shown(file)}:${line}:${column}: ${detail}`, options);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** A path as the error log shows script files: relative to the working directory. */
function shown(path: string): string {
  return relative(process.cwd(), path) || ".";
}

export interface TemplatesOptions {
  /** The templates directory (absolute); it need not exist until a template is rendered. */
  dir: string;
  /** Watch the directory so an edit is live on the next request; off for a one-request process (tscgi cgi). */
  watch?: boolean;
  log?: (message: string) => void;
}

/**
 * Nunjucks is loaded, and the directory watched, on the first render: a site without templates
 * pays nothing (Nunjucks costs a worker about 6 MiB and 25 ms to load).
 */
export class NunjucksTemplates implements TemplateRenderer {
  readonly dir: string;
  readonly #watch: boolean;
  readonly #log: ((message: string) => void) | undefined;
  #env: Environment | undefined;
  #watcher: DirectoryWatcher | undefined;
  /** Whether edits are seen: only then may a compiled template be kept. */
  #watching = false;
  #closed = false;

  constructor(options: TemplatesOptions) {
    this.dir = options.dir;
    this.#watch = options.watch ?? true;
    this.#log = options.log;
  }

  render(name: string, data: Record<string, unknown>): string {
    const env = (this.#env ??= this.#createEnvironment());
    if (!this.#watching && this.#watch && !this.#closed) this.#startWatching();
    try {
      return env.render(name, data);
    } catch (error) {
      throw this.#describe(error);
    }
  }

  close(): void {
    this.#closed = true;
    this.#watching = false;
    this.#watcher?.close();
  }

  #createEnvironment(): Environment {
    const require = createRequire(import.meta.url);
    const lib = require("nunjucks") as Nunjucks;
    trackFilterLines(require("nunjucks/src/compiler.js") as { Compiler: { prototype: CompilerPrototype } });
    const loader = { getSource: (name: string) => this.#source(name) };
    // dev: errors keep their line and cause (Nunjucks otherwise flattens them to a message).
    return new lib.Environment(loader, { autoescape: true, dev: true }) as Environment;
  }

  /** The loader: one read per template until the next change (no stat on the request path). */
  #source(name: string): nunjucks.LoaderSource {
    checkTemplateName(name);
    let real: string;
    let root: string;
    try {
      root = realpathSync(this.dir);
    } catch {
      throw new TemplateNotFoundError(name, this.dir, "the templates directory does not exist");
    }
    try {
      real = realpathSync(join(root, name));
    } catch {
      throw new TemplateNotFoundError(name, this.dir, "no such file");
    }
    // A symlink on the way may not lead out of the directory.
    if (!real.startsWith(root + sep)) throw new TemplateNotFoundError(name, this.dir, "it leads outside the templates directory");
    let src: string;
    try {
      src = readFileSync(real, "utf8");
    } catch (cause) {
      throw new TemplateNotFoundError(name, this.dir, (cause as Error).message);
    }
    return { src, path: join(this.dir, name), noCache: !this.#watching };
  }

  #startWatching(): void {
    const watcher = (this.#watcher ??= new DirectoryWatcher(
      (path) => {
        this.#env?.invalidateCache();
        if (!this.#watching && path === this.dir) this.#startWatching();
      },
      (message) => this.#log?.(message),
    ));
    let exists = true;
    try {
      realpathSync(this.dir);
    } catch {
      exists = false;
    }
    if (exists) {
      watcher.watchTree(this.dir);
      this.#watching = watcher.watches(this.dir);
    } else {
      // Nothing to cache yet; the parent is watched so the directory's creation is noticed.
      watcher.watchDirectory(dirname(this.dir));
    }
  }

  /** Nunjucks' error as a TemplateError naming the template and line where the fault is. */
  #describe(error: unknown): unknown {
    if (isTscgiError(error) || !(error instanceof Error)) return error;
    // The fault's own error is the innermost Nunjucks error of the chain (an include wraps its template's).
    let inner = error as NunjucksError;
    while (isNunjucksError(inner.cause)) inner = inner.cause;
    const paths = [...inner.message.matchAll(TEMPLATE_PATH)];
    const file = paths.at(-1)?.[1] ?? this.dir;
    const cause = inner.cause;
    // The parser counts lines from 1; a runtime fault carries the 0-based line of the compiled node.
    const runtime = cause instanceof Error;
    let line = typeof inner.lineno === "number" ? inner.lineno + (runtime ? 1 : 0) : endLine(file);
    let column = typeof inner.colno === "number" ? inner.colno + (runtime ? 1 : 0) : 1;
    if (line < 1) [line, column] = [1, 1];
    const detail = runtime ? `${cause.name}: ${cause.message}` : inner.message.slice(inner.message.lastIndexOf("\n") + 1).trim();
    // A parse error's own text is the detail already: no cause to repeat it in the log line.
    return new TemplateError(file, line, column, detail, runtime ? { cause } : undefined);
  }
}

interface CompilerPrototype {
  compileFilter(node: { lineno: number; colno: number }, frame: unknown): void;
  _emit(code: string): void;
  tracksFilterLines?: true;
}

/**
 * Nunjucks records the line being run only at function calls, so a filter that throws was
 * reported at line 1: each filter call now records its line too, as a call does.
 */
function trackFilterLines({ Compiler }: { Compiler: { prototype: CompilerPrototype } }): void {
  const proto = Compiler.prototype;
  if (proto.tracksFilterLines) return;
  const compileFilter = proto.compileFilter;
  proto.compileFilter = function (this: CompilerPrototype, node, frame) {
    this._emit(`(lineno = ${node.lineno}, colno = ${node.colno}, `);
    compileFilter.call(this, node, frame);
    this._emit(")");
  };
  proto.tracksFilterLines = true;
}

/** Nunjucks' TemplateError: a line and column where known, its own cause, and an Update() that prefixes its path. */
interface NunjucksError extends Error {
  lineno?: number;
  colno?: number;
  Update?: unknown;
}

function isNunjucksError(value: unknown): value is NunjucksError {
  return value instanceof Error && typeof (value as NunjucksError).Update === "function";
}

// Each template the error passed through prefixes "(path)" to its message, the innermost last.
const TEMPLATE_PATH = /\(([^()\n]+)\)(?: \[Line \d+(?:, Column \d+)?\])?\n/g;

/** A parse error at the end of the input has no line: the file's last line. */
function endLine(file: string): number {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").length;
  } catch {
    return 1;
  }
}
