// The route table: every script under the root with the URL it answers, and the files that never answer theirs.

import { readdirSync, realpathSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { isTscgiError, messageOf } from "../errors.ts";
import { parseParam } from "./dynamic-segments.ts";
import { DEFAULT_EXTENSIONS } from "./extensions.ts";
import { ScriptResolver, type ResolverOptions } from "./resolve.ts";

/** Files listed at most: a root this large is a mistake (a data folder inside cgi-bin/, say). */
const MAX_ROUTE_FILES = 10_000;

interface Route {
  /** URL pattern, mount included: "/users/[id]", "/admin/", "/docs/[...path]". */
  readonly url: string;
  /** Script, relative to the root. */
  readonly file: string;
}

export interface RouteConflict {
  /** The script that never answers its own URL, relative to the root. */
  readonly file: string;
  readonly url: string;
  /** The script that answers that URL instead, or undefined when none does (refused). */
  readonly winner: string | undefined;
  readonly reason: string;
}

export interface RouteTable {
  readonly routes: readonly Route[];
  readonly conflicts: readonly RouteConflict[];
}

/**
 * Lists the scripts under the root and asks the resolver which file answers each one's URL: a
 * file that loses to another (a.ts beside a/index.ts, [id].ts beside [slug].ts) is a conflict.
 * A `[param]` is probed with its own bracketed name, which only a parameter can match.
 */
export function routeTable(options: ResolverOptions): RouteTable {
  const resolver = new ScriptResolver(options);
  const root = resolver.root;
  const mount = resolver.mount === "/" ? "" : resolver.mount;
  const extensions = options.extensions ?? DEFAULT_EXTENSIONS;
  const index = options.index ?? "index";
  const routes: Route[] = [];
  const conflicts: RouteConflict[] = [];
  for (const file of scriptFiles(root, extensions)) {
    // The templates directory is never served: what is in it is no route.
    if (resolver.hides(file)) continue;
    const parts = relative(root, file).split(sep);
    const name = parts.pop()!;
    const ext = extensions.find((e) => name.endsWith(e))!;
    const base = name.slice(0, -ext.length);
    const isIndex = base === index;
    const segments = isIndex ? parts : [...parts, base];
    const url = mount + "/" + segments.join("/") + (isIndex && segments.length > 0 ? "/" : "");
    // A catch-all needs a second segment, or a one-segment [param] beside it would answer the probe.
    const catchAll = parseParam(base)?.catchAll === true;
    const probe = catchAll ? url + "/x" : url;
    const rel = relative(root, file);
    let winner: string | undefined;
    let reason = "";
    let answers = false;
    try {
      const found = resolver.resolve(probe);
      // A link to a script inside the root answers as the file it leads to: an alias, no conflict.
      answers = found.file === realPath(file) && (found.pathInfo === "" || catchAll);
      if (found.pathInfo === "" || catchAll) winner = relative(root, found.file);
      else reason = `${relative(root, found.file)} answers it with PATH_INFO ${found.pathInfo}`;
    } catch (error) {
      if (!isTscgiError(error)) throw error;
      reason = (error as { reason?: string }).reason ?? error.message;
    }
    if (answers) routes.push({ url, file: rel });
    else conflicts.push({ file: rel, url, winner, reason: winner !== undefined ? `${winner} answers it` : reason });
  }
  routes.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  return { routes, conflicts };
}

/** The resolver's options from the config's keys. */
export function resolverOptions(config: {
  root: string;
  mount: string;
  extensions: readonly string[];
  index: string;
  templates?: string;
}): ResolverOptions {
  const hidden = config.templates === undefined ? {} : { hidden: [config.templates] };
  return { root: config.root, mount: config.mount, extensions: config.extensions, index: config.index, ...hidden };
}

/** Logs each route conflict under the root; a listing that fails (an unreadable folder) is logged too, never fatal. */
export function warnRouteConflicts(options: ResolverOptions, warn: (line: string) => void): void {
  try {
    for (const conflict of routeTable(options).conflicts) warn(describeConflict(conflict));
  } catch (error) {
    warn(`route table not checked: ${messageOf(error)}`);
  }
}

/** One log line per conflict, for start-up. */
export function describeConflict(conflict: RouteConflict): string {
  return `route conflict: ${conflict.file} never answers ${conflict.url}: ${conflict.reason}`;
}

/** The table as `tscgi routes` prints it: URL and script in two columns, then the conflicts. */
export function formatRouteTable(table: RouteTable): string {
  const width = Math.max(3, ...table.routes.map((r) => r.url.length));
  const lines = [`${"URL".padEnd(width)}  SCRIPT`];
  for (const route of table.routes) lines.push(`${route.url.padEnd(width)}  ${route.file}`);
  if (table.conflicts.length > 0) {
    lines.push("", `${table.conflicts.length} conflict(s):`);
    for (const conflict of table.conflicts) lines.push(`  ${describeConflict(conflict)}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Real paths of the files with a script extension under `root`, skipping the names no URL reaches
 * (`_`, `.`, node_modules). Linked folders are followed once, and only inside the root.
 */
function scriptFiles(root: string, extensions: readonly string[]): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  const prefix = root.endsWith(sep) ? root : root + sep;
  const walk = (dir: string): void => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return;
    }
    if ((real !== root && !real.startsWith(prefix)) || seen.has(real)) return;
    seen.add(real);
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (files.length >= MAX_ROUTE_FILES) return;
      const name = entry.name;
      if (name.startsWith("_") || name.startsWith(".") || name.toLowerCase() === "node_modules") continue;
      const path = join(dir, name);
      if (entry.isDirectory() || (entry.isSymbolicLink() && isDirectoryPath(path))) walk(path);
      else if (extensions.some((ext) => name.endsWith(ext) && name.length > ext.length)) files.push(path);
    }
  };
  walk(root);
  return files;
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function isDirectoryPath(path: string): boolean {
  try {
    return readdirSync(path) !== undefined;
  } catch {
    return false;
  }
}
