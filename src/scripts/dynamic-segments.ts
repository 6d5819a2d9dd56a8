// Dynamic route names: `[id].ts` and `[id]/` take one URL segment, `[...path].ts` the rest of them.

import { readdirSync } from "node:fs";

/** A parameter name: what `cgi.params.NAME` is called, so an identifier. */
const PARAM = /^\[(\.\.\.)?([A-Za-z_$][\w$]*)\]$/;

/** A directory's dynamic entries, each list sorted by name so that the choice among several is stable. */
export interface DynamicEntries {
  /** `[name].ext` files, by base name: one segment, last in the path. */
  readonly files: readonly DynamicEntry[];
  /** `[name]/` directories: one segment, more below. */
  readonly dirs: readonly DynamicEntry[];
  /** `[...name].ext` files: one or more segments, the rest of the path. */
  readonly catchAll: readonly DynamicEntry[];
}

interface DynamicEntry {
  /** The parameter's name: `id` for `[id].ts`. */
  readonly param: string;
  /** The entry's name on disk: `[id].ts`, `[id]`. */
  readonly name: string;
}

const NO_DYNAMIC: DynamicEntries = Object.freeze({ files: [], dirs: [], catchAll: [] });

/** The parameter named by a base name (`[id]` -> id, `[...path]` -> ...path), or undefined for a static name. */
export function parseParam(base: string): { param: string; catchAll: boolean } | undefined {
  const m = PARAM.exec(base);
  return m === null ? undefined : { param: m[2], catchAll: m[1] !== undefined };
}

/** True for a name in brackets: never matched by its literal text, only as a parameter. */
export function isBracketName(segment: string): boolean {
  return segment.charCodeAt(0) === 0x5b;
}

/**
 * The dynamic entries of `dir` with an allow-listed extension. Directory entries that are links
 * are taken as they are listed; what is found through them is confined to the root by the caller.
 */
export function readDynamicEntries(dir: string, extensions: readonly string[]): DynamicEntries {
  let names: Array<{ name: string; isDir: boolean }>;
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => isBracketName(d.name))
      .map((d) => ({ name: d.name, isDir: d.isDirectory() || d.isSymbolicLink() }));
  } catch {
    return NO_DYNAMIC;
  }
  if (names.length === 0) return NO_DYNAMIC;
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: DynamicEntry[] = [];
  const dirs: DynamicEntry[] = [];
  const catchAll: DynamicEntry[] = [];
  for (const { name, isDir } of names) {
    const whole = parseParam(name);
    if (whole !== undefined && !whole.catchAll && isDir) dirs.push({ param: whole.param, name });
    // Extensions in order of preference, so `[id].ts` is listed before `[id].js`.
    for (const ext of extensions) {
      if (!name.endsWith(ext) || name.length <= ext.length) continue;
      const parsed = parseParam(name.slice(0, -ext.length));
      if (parsed === undefined) continue;
      (parsed.catchAll ? catchAll : files).push({ param: parsed.param, name });
    }
  }
  const byExtension = (list: DynamicEntry[]) =>
    list.sort((a, b) => (a.param === b.param ? extIndex(a.name, extensions) - extIndex(b.name, extensions) : a.param < b.param ? -1 : 1));
  return { files: byExtension(files), dirs, catchAll: byExtension(catchAll) };
}

function extIndex(name: string, extensions: readonly string[]): number {
  const i = extensions.findIndex((ext) => name.endsWith(ext));
  return i === -1 ? extensions.length : i;
}
