// A script's default export -> its handler: a function of the CGI context, or an object with fetch.

import type { CgiHandler, FetchHandler } from "../runtime/types.ts";
import { ScriptExportError } from "../scripts/errors.ts";
import type { ScriptExports } from "../scripts/loader.ts";

/** Either style a script's default export may take (see types.ts). */
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
