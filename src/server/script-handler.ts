// A script's default export -> its handler: a function of the CGI context, or an object with fetch.

import type { CgiHandler, FetchHandler } from "../runtime/types.ts";
import { ScriptExportError } from "../scripts/errors.ts";
import type { ScriptExports } from "../scripts/loader.ts";
import { hasMethodExports, methodRouter } from "../scripts/methods.ts";

/** Either style a script's default export may take (see types.ts). */
export type ScriptHandler = CgiHandler | FetchHandler;

/**
 * The handler a script exports, or ScriptExportError naming `file`. No allocation: the default
 * export itself is returned, so calling this per request costs two type checks.
 */
export function scriptHandler(exports: ScriptExports, file: string): ScriptHandler {
  const routed = routers.get(exports);
  if (routed !== undefined) return routed;
  if (hasMethodExports(exports)) return routeMethods(exports, file);
  const handler = exports.default;
  if (typeof handler === "function") return handler as CgiHandler;
  if (typeof handler === "object" && handler !== null && typeof (handler as { fetch?: unknown }).fetch === "function") {
    return handler as FetchHandler;
  }
  throw new ScriptExportError(file, describe(handler, exports));
}

/** Method routers by module: built once per module, so a request costs one WeakMap lookup. */
const routers = new WeakMap<ScriptExports, CgiHandler>();

function routeMethods(exports: ScriptExports, file: string): CgiHandler {
  const main = exports.default;
  let fallback: CgiHandler | undefined;
  if (main !== undefined) {
    const handler = scriptHandler({ default: main }, file);
    // The third argument is the Cgi context, as dispatch passes it to a fetch-style default export.
    fallback = isFetchHandler(handler) ? (cgi) => handler.fetch(cgi.request, cgi.env, cgi) : handler;
  }
  const router = methodRouter(exports, fallback as never) as CgiHandler;
  routers.set(exports, router);
  return router;
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
