// cgi.render()'s renderer: Nunjucks (Jinja2's language) over the templates directory, autoescape on,
// each template compiled once and dropped when anything under the directory changes.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import type nunjucks from "nunjucks";
import { TscgiError, isTscgiError } from "../errors.ts";
import { checkTemplateName, type TemplateRenderer } from "../runtime/templates.ts";
import { DirectoryWatcher } from "../scripts/watcher.ts";
import { patchNunjucks } from "./nunjucks-patches.ts";

type Nunjucks = typeof nunjucks;
/** Environment.invalidateCache() is public since Nunjucks 3.2 but missing from @types/nunjucks. */
type Environment = nunjucks.Environment & { invalidateCache(): void };

export class TemplateNotFoundError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_TEMPLATE_NOT_FOUND";
  constructor(name: string, dir: string, fault: string) {
    super(`template ${JSON.stringify(name)} not found in ${shown(dir)}: ${fault}; check the name, or set templates to its directory`);
  }
}

/** A template that does not compile, or that failed while rendering (a filter that threw, say). */
export class TemplateError extends TscgiError {
  readonly code = "TSCGI_E_SERVER_TEMPLATE";
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
      if (error instanceof Error && error.message === NOT_FOUND + name) throw this.#notFound(name);
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
    patchNunjucks(require);
    // A null source is "not found" to Nunjucks; @types/nunjucks leaves null out.
    const loader = { getSource: (name: string) => this.#source(name) } as unknown as nunjucks.ILoader;
    // dev: errors keep their line and cause (Nunjucks otherwise flattens them to a message).
    return new lib.Environment(loader, { autoescape: true, dev: true }) as Environment;
  }

  /**
   * The loader: one read per template until the next change (no stat on the request path). A
   * missing file is null, so `{% include ... ignore missing %}` works; a refused name throws.
   */
  #source(name: string): nunjucks.LoaderSource | null {
    checkTemplateName(name);
    let real: string;
    let root: string;
    try {
      root = realpathSync(this.dir);
      real = realpathSync(join(root, name));
    } catch {
      return null;
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

  #notFound(name: string): TemplateNotFoundError {
    const dirExists = statSync(this.dir, { throwIfNoEntry: false })?.isDirectory() === true;
    return new TemplateNotFoundError(name, this.dir, dirExists ? "no such file" : "the templates directory does not exist");
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
    let detail = runtime ? `${cause.name}: ${cause.message}` : inner.message.slice(inner.message.lastIndexOf("\n") + 1).trim();
    let line = typeof inner.lineno === "number" ? inner.lineno + (runtime ? 1 : 0) : 0;
    let column = typeof inner.colno === "number" ? inner.colno + (runtime ? 1 : 0) : 1;
    const text = runtime ? cause.message : detail;
    const missing = text.startsWith(NOT_FOUND) ? text.slice(NOT_FOUND.length) : null;
    if (missing !== null) {
      // Nunjucks may hand a missing include on without its line: then the first line naming it.
      if (line === 0) line = lineNaming(file, missing);
      detail = this.#notFound(missing).message;
    } else if (line === 0 && typeof inner.lineno !== "number") {
      // Only a parse error at the end of the input has no line.
      line = endLine(file);
    }
    if (line < 1) [line, column] = [1, 1];
    // A parse error's own text is the detail already: no cause to repeat it in the log line.
    return new TemplateError(file, line, column, detail, runtime ? { cause } : undefined);
  }
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

/** Nunjucks' message for a template its loader did not find. */
const NOT_FOUND = "template not found: ";

// Each template the error passed through prefixes "(path)" to its message, the innermost last.
const TEMPLATE_PATH = /\(([^()\n]+)\)(?: \[Line \d+(?:, Column \d+)?\])?\n/g;

/** The first line of `file` that holds `name` in quotes; 0 when none does. */
function lineNaming(file: string, name: string): number {
  try {
    const lines = readFileSync(file, "utf8").split("\n");
    const index = lines.findIndex((text) => text.includes(`"${name}"`) || text.includes(`'${name}'`));
    return index + 1;
  } catch {
    return 0;
  }
}

/** A parse error at the end of the input has no line: the file's last line. */
function endLine(file: string): number {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").length;
  } catch {
    return 1;
  }
}
