// Per-method exports (`export function GET`, `POST` ...): one handler that picks by REQUEST_METHOD.

/** The methods a script may export a handler for, in the order `Allow` lists them. */
const METHOD_EXPORTS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

type MethodHandler = (cgi: MethodCgi) => unknown;
/** What a method router reads of the context: only the method. */
interface MethodCgi {
  readonly env: Readonly<Record<string, string>>;
}

/** True when `exports` has a handler for any method by name. */
export function hasMethodExports(exports: Record<string, unknown>): boolean {
  for (const method of METHOD_EXPORTS) if (typeof exports[method] === "function") return true;
  return false;
}

/**
 * The handler for a module with method exports. `fallback` (the default export, if any) answers
 * the methods without an export of their own; without one, HEAD is GET without its body, OPTIONS
 * answers 204 with `Allow`, and any other method 405 with `Allow` (RFC 9110 15.5.6: a 405 MUST
 * carry Allow).
 */
export function methodRouter(exports: Record<string, unknown>, fallback: MethodHandler | undefined): MethodHandler {
  const handlers = new Map<string, MethodHandler>();
  for (const method of METHOD_EXPORTS) {
    const handler = exports[method];
    if (typeof handler === "function") handlers.set(method, handler as MethodHandler);
  }
  // Dispatch drops the body of a HEAD response, so GET's answer serves it.
  if (!handlers.has("HEAD") && handlers.has("GET")) handlers.set("HEAD", handlers.get("GET")!);
  const allow = METHOD_EXPORTS.filter((m) => handlers.has(m) || m === "OPTIONS").join(", ");
  return (cgi) => {
    const method = cgi.env.REQUEST_METHOD ?? "GET";
    const handler = handlers.get(method) ?? fallback;
    if (handler !== undefined) return handler(cgi);
    if (method === "OPTIONS") return new Response(null, { status: 204, headers: { Allow: allow } });
    return new Response("405 Method Not Allowed\n", {
      status: 405,
      headers: { Allow: allow, "Content-Type": "text/plain; charset=utf-8" },
    });
  };
}
