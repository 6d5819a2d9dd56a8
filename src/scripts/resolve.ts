// URL path -> script file: the security boundary between the request and the file system.

import { realpathSync, statSync, type Stats } from "node:fs";
import { join, resolve, sep } from "node:path";
import { isBracketName, readDynamicEntries, type DynamicEntries } from "./dynamic-segments.ts";
import { ScriptBadPathError, ScriptNotFoundError, ScriptRootError } from "./errors.ts";
import { DEFAULT_EXTENSIONS } from "./extensions.ts";

/** Resolutions remembered, found and not found each; the oldest is dropped first. */
const RESOLVE_CACHE_SIZE = 4096;
/** Longer request paths are refused (400); web servers cap the request line well below this. */
export const MAX_PATH_LENGTH = 8192;
/** Only this many leading segments can name a script; deeper segments are always PATH_INFO. */
const MAX_SCRIPT_DEPTH = 32;

export interface ResolverOptions {
  /** Script root directory (absolute); its real path is taken once, at construction. */
  root: string;
  /** URL prefix the scripts live under, "/" by default (e.g. "/cgi-bin"). */
  mount?: string;
  /** Allow-list of extensions, in order of preference. */
  extensions?: readonly string[];
  /** Base name of a directory's script: "index". */
  index?: string;
  /** Entries in each of the two resolution caches. */
  cacheSize?: number;
  /** Directories never served even when inside the root (the templates directory). */
  hidden?: readonly string[];
}

export interface ResolvedScript {
  /** Absolute real path of the script. */
  readonly file: string;
  /** URL path of the script, mount included: "/users", or "/admin/" for a directory's index. */
  readonly scriptName: string;
  /** The rest of the path after the script: "/42", or "" when none. */
  readonly pathInfo: string;
  /** Values of the `[param]` segments the path went through, by name (frozen; empty for a static path). */
  readonly params: Readonly<Record<string, string>>;
}

interface Match {
  readonly file: string;
  /** The file is a directory's index: the script name ends with "/". */
  readonly index: boolean;
  readonly params: Readonly<Record<string, string>>;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

// %2F and %5C decoded by the web server would become separators; %00 a NUL.
const ENCODED_SEPARATOR = /%(?:2f|5c|00)/i;

export class ScriptResolver {
  readonly root: string;
  readonly mount: string;
  readonly #rootPrefix: string;
  readonly #extensions: readonly string[];
  readonly #index: string;
  readonly #cacheSize: number;
  /** The hidden directories, each ending with a separator. */
  readonly #hidden: string[];
  readonly #found = new Map<string, ResolvedScript>();
  readonly #missing = new Map<string, string>();
  readonly #dynamic = new Map<string, DynamicEntries>();

  constructor(options: ResolverOptions) {
    try {
      this.root = realpathSync(options.root);
    } catch (cause) {
      throw new ScriptRootError(options.root, { cause });
    }
    if (!statSync(this.root).isDirectory()) throw new ScriptRootError(options.root);
    this.#rootPrefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.mount = normalizeMount(options.mount ?? "/");
    this.#extensions = [...(options.extensions ?? DEFAULT_EXTENSIONS)];
    this.#index = options.index ?? "index";
    this.#cacheSize = options.cacheSize ?? RESOLVE_CACHE_SIZE;
    // As given too: a hidden directory created after start-up has no real path yet.
    this.#hidden = (options.hidden ?? []).flatMap((dir) => {
      try {
        return [resolve(dir) + sep, realpathSync(dir) + sep];
      } catch {
        return [resolve(dir) + sep];
      }
    });
  }

  /**
   * Resolve an already-decoded request path (never decoded again here). `rawPath`, the
   * undecoded path of REQUEST_URI, is only checked for encoded separators and NUL.
   */
  resolve(path: string, rawPath?: string): ResolvedScript {
    if (rawPath !== undefined && rawPath.includes("%") && ENCODED_SEPARATOR.test(rawPath)) {
      throw new ScriptBadPathError(path, "encoded slash, backslash or NUL (%2F, %5C, %00) in the URL");
    }
    const hit = this.#found.get(path);
    if (hit !== undefined) return hit;
    const miss = this.#missing.get(path);
    if (miss !== undefined) throw new ScriptNotFoundError(path, miss);

    const result = this.#lookup(path);
    if (typeof result === "string") {
      remember(this.#missing, path, result, this.#cacheSize);
      throw new ScriptNotFoundError(path, result);
    }
    remember(this.#found, path, result, this.#cacheSize);
    return result;
  }

  /** True for a file in a hidden directory (the templates directory), which no URL reaches. */
  hides(file: string): boolean {
    return this.#hidden.some((dir) => file.startsWith(dir));
  }

  /** Forget every resolution: called when anything under the root changes. */
  invalidate(): void {
    this.#found.clear();
    this.#missing.clear();
    this.#dynamic.clear();
  }

  /** The script for `path`, or the reason there is none. Throws ScriptBadPathError for attacks. */
  #lookup(path: string): ResolvedScript | string {
    checkPath(path);
    const mount = this.mount;
    let rest: string;
    if (mount === "/") rest = path;
    else if (path === mount) rest = "";
    else if (path.startsWith(mount) && path.charCodeAt(mount.length) === 0x2f) rest = path.slice(mount.length);
    else return `outside the mount ${mount}`;

    // Runs of slashes count as one, like nginx's merge_slashes.
    const segments = rest.split("/").filter((s) => s !== "");
    const trailingSlash = rest.endsWith("/");
    const base = mount === "/" ? "" : mount;
    const n = segments.length;
    let reason = "no matching file";

    for (let k = Math.min(n, MAX_SCRIPT_DEPTH); k >= 0; k--) {
      const prefix = segments.slice(0, k);
      if (k > 0) {
        const hidden = prefix.find(isPrivateName);
        if (hidden !== undefined) {
          reason = `segment ${JSON.stringify(hidden)} is private`;
          continue;
        }
      }
      const scriptName = base + "/" + prefix.join("/");
      const pathInfo = k === n ? (trailingSlash && k > 0 ? "/" : "") : "/" + segments.slice(k).join("/") + (trailingSlash ? "/" : "");

      if (k === 0) {
        // The root's index answers "/" only: it never takes a PATH_INFO.
        const file = n === 0 ? this.#indexIn(this.root) : undefined;
        if (file !== undefined) return { file, scriptName: base + "/", pathInfo: "", params: NO_PARAMS };
        break;
      }
      const match = this.#match(this.root, segments, 0, k, k === n, []);
      if (match !== undefined) {
        const isIndex = match.index && k === n;
        return {
          file: match.file,
          scriptName: isIndex ? scriptName + "/" : scriptName,
          pathInfo: isIndex ? "" : pathInfo,
          params: match.params,
        };
      }
    }
    return reason;
  }

  /**
   * The script for segments [i, k) below `dir`, depth first: at each segment a static name before
   * `[param]`, and a `[...rest]` file (only when `whole`, the path's every segment is taken) last.
   */
  #match(dir: string, segments: readonly string[], i: number, k: number, whole: boolean, params: readonly string[]): Match | undefined {
    const segment = segments[i];
    const last = i === k - 1;
    // A bracketed name on disk is a parameter: its literal text in a URL matches it only as a value.
    const literal = !isBracketName(segment);
    const dynamic = this.#dynamicIn(dir);
    if (last) {
      if (literal) {
        const path = join(dir, segment);
        if (whole && isDirectory(stat(path))) {
          const file = this.#indexIn(path);
          if (file !== undefined) return { file, index: true, params: toParams(params) };
        }
        if (this.#extensions.some((ext) => segment.endsWith(ext) && segment.length > ext.length)) {
          const file = this.#confine(path);
          if (file !== undefined) return { file, index: false, params: toParams(params) };
        }
        for (const ext of this.#extensions) {
          const file = this.#confine(path + ext);
          if (file !== undefined) return { file, index: false, params: toParams(params) };
        }
      }
      // As for static names, a folder's index comes before a file of the same name.
      if (whole) {
        for (const entry of dynamic.dirs) {
          const file = this.#indexIn(join(dir, entry.name));
          if (file !== undefined) return { file, index: true, params: toParams([...params, entry.param, segment]) };
        }
      }
      for (const entry of dynamic.files) {
        const file = this.#confine(join(dir, entry.name));
        if (file !== undefined) return { file, index: false, params: toParams([...params, entry.param, segment]) };
      }
    } else {
      if (literal) {
        const path = join(dir, segment);
        if (isDirectory(stat(path))) {
          const found = this.#match(path, segments, i + 1, k, whole, params);
          if (found !== undefined) return found;
        }
      }
      for (const entry of dynamic.dirs) {
        const found = this.#match(join(dir, entry.name), segments, i + 1, k, whole, [...params, entry.param, segment]);
        if (found !== undefined) return found;
      }
    }
    if (whole) {
      for (const entry of dynamic.catchAll) {
        const file = this.#confine(join(dir, entry.name));
        if (file !== undefined) return { file, index: false, params: toParams([...params, entry.param, segments.slice(i).join("/")]) };
      }
    }
    return undefined;
  }

  /** The index script of directory `dir`, in order of extension preference. */
  #indexIn(dir: string): string | undefined {
    for (const ext of this.#extensions) {
      const file = this.#confine(join(dir, this.#index + ext));
      if (file !== undefined) return file;
    }
    return undefined;
  }

  /** The `[param]` entries of `dir`, read once until the next invalidate(). */
  #dynamicIn(dir: string): DynamicEntries {
    let entries = this.#dynamic.get(dir);
    if (entries === undefined) {
      entries = readDynamicEntries(dir, this.#extensions);
      remember(this.#dynamic, dir, entries, this.#cacheSize);
    }
    return entries;
  }

  /** The real path of `candidate` if it is a regular file that stays inside the root. */
  #confine(candidate: string): string | undefined {
    if (!isFile(stat(candidate))) return undefined;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      return undefined;
    }
    // A symlink (to the file or any directory on the way) may not lead out of the root.
    if (!real.startsWith(this.#rootPrefix)) return undefined;
    return this.#hidden.length > 0 && this.hides(real) ? undefined : real;
  }
}

/** Refuse what a normalizing web server never sends: these only come from attacks or bugs. */
function checkPath(path: string): void {
  if (path.length > MAX_PATH_LENGTH) throw new ScriptBadPathError(path.slice(0, 64) + "...", `longer than ${MAX_PATH_LENGTH} characters`);
  if (!path.startsWith("/")) throw new ScriptBadPathError(path, "does not start with /");
  if (path.includes("\0")) throw new ScriptBadPathError(path, "contains a NUL byte");
  if (path.includes("\\")) throw new ScriptBadPathError(path, "contains a backslash");
  if (path.includes("/.")) {
    for (const segment of path.split("/")) {
      if (segment === "." || segment === "..") throw new ScriptBadPathError(path, `contains a ${JSON.stringify(segment)} segment`);
    }
  }
}

/**
 * Names a URL may never reach: `_` and `.` names, and the site's packages. node_modules is
 * compared without case, since a case-insensitive file system serves it under any spelling.
 */
function isPrivateName(segment: string): boolean {
  return segment.startsWith("_") || segment.startsWith(".") || segment.toLowerCase() === "node_modules";
}

/** [name, value, name, value ...] -> a frozen prototype-less object (no `__proto__` surprises). */
function toParams(pairs: readonly string[]): Readonly<Record<string, string>> {
  if (pairs.length === 0) return NO_PARAMS;
  const params = Object.create(null) as Record<string, string>;
  for (let j = 0; j < pairs.length; j += 2) params[pairs[j]] = pairs[j + 1]!;
  return Object.freeze(params);
}

function normalizeMount(mount: string): string {
  const trimmed = mount.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.startsWith("/") ? trimmed : "/" + trimmed;
}

/** stat that answers undefined for any failure: ENOENT, ENOTDIR, ENAMETOOLONG, EACCES, ELOOP. */
function stat(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function isFile(stats: Stats | undefined): boolean {
  return stats !== undefined && stats.isFile();
}

function isDirectory(stats: Stats | undefined): boolean {
  return stats !== undefined && stats.isDirectory();
}

function remember<V>(cache: Map<string, V>, key: string, value: V, size: number): void {
  if (cache.size >= size) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, value);
}
