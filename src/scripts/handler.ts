// A script's default export -> its handler: a function of the CGI context, or an object with fetch.

import { ScriptExportError } from "./errors.ts";
import type { ScriptExports } from "./loader.ts";
import { hasMethodExports, methodRouter } from "./methods.ts";

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
  let fallback: ((cgi: never) => unknown) | undefined;
  if (main !== undefined) {
    const handler = scriptHandler({ default: main }, file);
    fallback = isFetchHandler(handler) ? (cgi: never) => callFetch(handler, cgi) : handler;
  }
  const router = methodRouter(exports, fallback as never) as CgiHandler;
  routers.set(exports, router);
  return router;
}

function callFetch(handler: FetchHandler, cgi: { request: Request; env: unknown }): unknown {
  // The third argument is the Cgi context, as dispatch passes it to a fetch-style default export.
  return (handler.fetch as unknown as (request: Request, env: unknown, cgi: unknown) => unknown)(cgi.request, cgi.env, cgi);
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
