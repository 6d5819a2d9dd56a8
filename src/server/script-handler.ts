// A script's default export -> its handler: a function of the CGI context, or an object with fetch.

import type { CgiHandler, FetchHandler } from "../runtime/types.ts";
import { ScriptExportError } from "../scripts/errors.ts";
import type { ScriptExports } from "../scripts/loader.ts";
import { hasMethodExports, methodRouter } from "../scripts/methods.ts";

/** Either style a script's default export may take (see types.ts). */
export type ScriptHandler = CgiHandler | FetchHandler;

/**
 * The handler a script exports, or ScriptExportError naming `file`. Found once per module: a
 * request costs one WeakMap lookup (looking up the seven method names on a module namespace
 * each time was a hundredth of a hello's CPU).
 */
export function scriptHandler(exports: ScriptExports, file: string): ScriptHandler {
  const known = handlers.get(exports);
  if (known !== undefined) return known;
  const handler = findHandler(exports, file);
  handlers.set(exports, handler);
  return handler;
}

/**
 * Handlers by module, found after its evaluation (an edit loads a new module). A script that
 * later reassigns an exported `let` keeps the handler it had.
 */
const handlers = new WeakMap<ScriptExports, ScriptHandler>();

function findHandler(exports: ScriptExports, file: string): ScriptHandler {
  if (hasMethodExports(exports)) return routeMethods(exports, file);
  const handler = exports.default;
  if (typeof handler === "function") return handler as CgiHandler;
  if (typeof handler === "object" && handler !== null && typeof (handler as { fetch?: unknown }).fetch === "function") {
    return handler as FetchHandler;
  }
  throw new ScriptExportError(file, describe(handler, exports));
}

function routeMethods(exports: ScriptExports, file: string): CgiHandler {
  const main = exports.default;
  let fallback: CgiHandler | undefined;
  if (main !== undefined) {
    const handler = findHandler({ default: main }, file);
    // The third argument is the Cgi context, as dispatch passes it to a fetch-style default export.
    fallback = isFetchHandler(handler) ? (cgi) => handler.fetch(cgi.request, cgi.env, cgi) : handler;
  }
  return methodRouter(exports, fallback as never) as CgiHandler;
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
