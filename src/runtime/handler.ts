// A script's default export -> its handler: a function of the CGI context, or an object with fetch.

import { ScriptExportError } from "./errors.ts";
import type { ScriptExports } from "./loader.ts";

/** Classic style: `export default function (cgi) { ... }`. */
export type CgiHandler = (cgi: never) => unknown;
/** Fetch style, as in Workers, Deno, Bun and Hono: `export default { fetch(request, env) { ... } }`. */
export interface FetchHandler {
  fetch(request: Request, env: never): unknown;
}
export type ScriptHandler = CgiHandler | FetchHandler;

/**
 * The handler a script exports, or ScriptExportError naming `file`. No allocation: the default
 * export itself is returned, so calling this per request costs two type checks.
 */
export function scriptHandler(exports: ScriptExports, file: string): ScriptHandler {
  const handler = exports.default;
  if (typeof handler === "function") return handler as CgiHandler;
  if (typeof handler === "object" && handler !== null && typeof (handler as { fetch?: unknown }).fetch === "function") {
    return handler as FetchHandler;
  }
  throw new ScriptExportError(file, describe(handler, exports));
}

/** True for the fetch style. */
export function isFetchHandler(handler: ScriptHandler): handler is FetchHandler {
  return typeof handler === "object";
}

function describe(value: unknown, exports: ScriptExports): string {
  if (value === undefined) {
    const names = Object.keys(exports).filter((name) => name !== "default");
    return names.length > 0 ? `missing (named exports: ${names.join(", ")})` : "missing";
  }
  if (value === null) return "null";
  if (typeof value === "object") return "an object without a fetch method";
  return `a ${typeof value}`;
}
