// status_listen: a FastCGI listener of the master's own (PHP-FPM's pm.status_listen) that answers
// status_path, ping_path and readiness itself, so they answer while every worker is busy or stuck.
import type { Config } from "../config/types.ts";
import { defaultConnectionOptions } from "../fastcgi/connection.ts";
import { ScriptNotFoundError } from "../scripts/errors.ts";
import { splitListen } from "../config/address.ts";
import { formatAddress } from "../server/address.ts";
import { bindListener, type BoundListener } from "../server/bind.ts";
import { Dispatcher, type BuiltinHandler } from "../server/dispatch.ts";
import { FastCgiServer } from "../server/fastcgi-server.ts";
import type { Logger } from "../server/log.ts";
import { answer, builtinRoutes, type RenderedStatus } from "./builtins.ts";
import type { Readiness } from "./readiness.ts";

/** The query key that turns ping_path into the readiness answer (`/ping?ready`). */
const READY_QUERY = "ready";

export interface StatusSources {
  status(query: string, accept: string): Promise<RenderedStatus>;
  readiness(): Readiness;
}

/** ping_path?ready: 200 "ready", or 503 "not ready: REASON (detail)" that a probe shows as is. */
function readinessRoute(sources: StatusSources): BuiltinHandler {
  return (exchange) => {
    const r = sources.readiness();
    const text = r.ready ? "ready\n" : `not ready: ${r.reason} (${r.detail})\n`;
    return answer(exchange, r.ready ? 200 : 503, "text/plain; charset=utf-8", text);
  };
}

export class StatusListener {
  readonly #bound: BoundListener;
  readonly #server: FastCgiServer;

  private constructor(bound: BoundListener, server: FastCgiServer) {
    this.#bound = bound;
    this.#server = server;
  }

  /** Binds status_listen and answers on it; null when status_listen is off. */
  static async start(config: Config, log: Logger, sources: StatusSources): Promise<StatusListener | null> {
    const where = config.status_listen;
    if (where === null) return null;
    const builtins = builtinRoutes(config, (query, accept) => sources.status(query, accept))!;
    const ready = readinessRoute(sources);
    const dispatcher = new Dispatcher({
      root: config.root,
      // Nothing else is answered here: no script runs in the master.
      resolver: {
        resolve: (path) => {
          throw new ScriptNotFoundError(path, "status_listen answers only status_path and ping_path");
        },
      },
      loader: { load: () => ({}) },
      maxBodySize: config.max_body_size,
      requestTimeout: 0,
      log,
      // Probes every few seconds would bury the requests in the access log.
      accessLog: null,
      builtins: (path) => {
        if (path !== config.ping_path) return builtins(path);
        return (exchange) => {
          const query = new URLSearchParams(exchange.params.QUERY_STRING ?? "");
          return (query.has(READY_QUERY) ? ready : builtins(path)!)(exchange);
        };
      },
    });
    const server = new FastCgiServer(dispatcher, {
      maxConnections: config.max_connections,
      backlog: config.listen_backlog,
      paramsTimeout: config.params_timeout,
      keepaliveTimeout: config.keepalive_timeout,
      log,
      connection: { ...defaultConnectionOptions, maxParamsBytes: config.max_params_bytes, maxParamsPairs: config.max_params },
    });
    const bound = await bindListener(splitListen(where), where, {
      mode: config.listen_mode,
      uid: config.listen_owner,
      gid: config.listen_group,
    });
    try {
      await server.listen(bound.handle);
    } catch (error) {
      bound.close();
      throw error;
    }
    log.info(`listening on status ${formatAddress(bound.address)} (status and ping answered by the master)`);
    return new StatusListener(bound, server);
  }

  /**
   * A reload's listener for `config`, once `running` was closed: a new one binds, and one that
   * cannot is logged, leaving status and ping on listen (null).
   */
  static async restart(
    running: StatusListener | null,
    config: Config,
    log: Logger,
    sources: StatusSources,
  ): Promise<StatusListener | null> {
    running?.close();
    try {
      return await StatusListener.start(config, log, sources);
    } catch (error) {
      log.error(`reload: status_listen: ${(error as Error).message}; status and ping are answered on listen only`);
      return null;
    }
  }

  /** Whether a reload to `next` must start the listener anew: what it answers, or its log, changed. */
  static changed(previous: Config, next: Config): boolean {
    const keys = [
      "status_listen",
      "status_path",
      "ping_path",
      "ping_response",
      "status_allowed_clients",
      "error_log",
      "log_level",
    ] as const;
    return keys.some((key) => JSON.stringify(previous[key]) !== JSON.stringify(next[key]));
  }

  /** The address really bound (the port when 0 was asked for). */
  get address(): string {
    return formatAddress(this.#bound.address);
  }

  close(): void {
    this.#server.destroyAll();
    this.#server.stopAccepting();
    this.#bound.close();
  }
}
