// The paths the server answers itself: ping_path (a liveness probe) and status_path (the pool's
// status, rendered by whoever holds the whole picture: the master, or the single process).
import type { Exchange } from "../cgi/exchange.ts";
import { clientAllowed, type ClientList } from "../config/clients.ts";
import type { Config } from "../config/types.ts";
import type { BuiltinHandler } from "../server/dispatch.ts";

export interface RenderedStatus {
  ok: boolean;
  body: string;
  contentType: string;
}

// PHP-FPM sends these with every status and ping answer: a cached status is a wrong one.
const NO_CACHE = ["Cache-Control", "no-cache, no-store, must-revalidate, max-age=0", "Expires", "Thu, 01 Jan 1970 00:00:00 GMT"];

export async function answer(exchange: Exchange, status: number, contentType: string, text: string): Promise<number> {
  const body = Buffer.from(text);
  const headers = ["Content-Type", contentType, "Content-Length", String(body.byteLength), ...NO_CACHE];
  await exchange.respond(status, headers, exchange.params.REQUEST_METHOD === "HEAD" ? null : body, "ok");
  return status;
}

/**
 * The client is REMOTE_ADDR, else the connection's peer. With neither (a Unix socket and a web
 * server that sent no REMOTE_ADDR) nobody is known to be local, so only `any` lets it through.
 */
export function statusClientAllowed(list: ClientList | null, client: string | undefined): boolean {
  return list === null || (client !== undefined && clientAllowed(list, client));
}

export function builtinRoutes(
  config: Config,
  status: (query: string, accept: string) => Promise<RenderedStatus>,
): ((path: string) => BuiltinHandler | null) | undefined {
  const ping = config.ping_path;
  const statusPath = config.status_path;
  if (ping === null && statusPath === null) return undefined;
  const pingBody = config.ping_response;
  const onPing: BuiltinHandler = (exchange) => answer(exchange, 200, "text/plain; charset=utf-8", pingBody);
  const onStatus: BuiltinHandler = async (exchange) => {
    const p = exchange.params;
    if (!statusClientAllowed(config.status_allowed_clients, p.REMOTE_ADDR || exchange.peer)) {
      return answer(exchange, 403, "text/plain; charset=utf-8", "403 Forbidden: not in status_allowed_clients\n");
    }
    const rendered = await status(p.QUERY_STRING ?? "", p.HTTP_ACCEPT ?? "");
    return answer(exchange, rendered.ok ? 200 : 503, rendered.contentType, rendered.body);
  };
  return (path) => (path === ping ? onPing : path === statusPath ? onStatus : null);
}
