// One serving process: script resolution and loading, dispatch, the FastCGI listener, the HTTP front.
// The same code runs as the single process (`--workers 0`) and inside every pool worker.
import type { ConnectionSocket } from "./handle-socket.ts";
import { HandleSocket } from "./handle-socket.ts";
import type { HandOff } from "./open-connection.ts";
import type { Config } from "../config/types.ts";
import { clientAllowed } from "../config/clients.ts";
import { BufferPool, POOL_MAX_FREE } from "../fastcgi/buffer-pool.ts";
import { SCAVENGE_EVERY, ScavengePacer } from "../fastcgi/scavenge-pacer.ts";
import { scavenge } from "../node-internals.ts";
import { defaultConnectionOptions } from "../fastcgi/connection.ts";
import * as api from "../index.ts";
import * as jsxRuntime from "../runtime/jsx-runtime.ts";
import type { CompileOptions } from "../scripts/compile.ts";
import { ScriptLoader, type BrokenScript } from "../scripts/loader.ts";
import { preloadScripts } from "./preload.ts";
import { ScriptResolver } from "../scripts/resolve.ts";
import { ModuleLifecycle } from "../scripts/module-lifecycle.ts";
import { AccessLog } from "./access-log.ts";
import { splitListen } from "../config/address.ts";
import { bindListener, socketFault, type BoundListener, type ListenHandle } from "./bind.ts";
import { inheritedFastCgiFd, inheritedListener } from "./inherited.ts";
import { Dispatcher, type BuiltinHandler, type DispatchStats } from "./dispatch.ts";
import { ListenError } from "./errors.ts";
import { FastCgiServer, FIRST_REQUEST_GRACE } from "./fastcgi-server.ts";
import type { HttpFront } from "./http-front.ts";
import type { InflightTable } from "./inflight-table.ts";
import { LogSink, Logger, type LineSink } from "./log.ts";
import { scriptConsoles } from "./script-console.ts";
import { ScriptFaults } from "./script-faults.ts";
import type { FaultKind } from "./fault-tally.ts";
import { createToolkit } from "./toolkit.ts";
import type { Toolkit } from "../runtime/toolkit.ts";

export interface Listeners {
  /** `from` is set when the socket was handed to tscgi (systemd, fd 0) rather than bound from listen. */
  fastcgi: BoundListener & { from?: string };
  http: BoundListener | null;
}

/**
 * Binds the FastCGI socket (with the Unix socket mode and owner) and the HTTP front, as configured;
 * a FastCGI socket handed to this process (systemd, fd 0) is taken instead of binding listen.
 */
export async function bindListeners(config: Config): Promise<Listeners> {
  const inherited = inheritedFastCgiFd(process.env, process.pid);
  const fastcgi = inherited
    ? inheritedListener(inherited)
    : await bindListener(splitListen(config.listen), config.listen, {
        mode: config.listen_mode,
        uid: config.listen_owner,
        gid: config.listen_group,
      });
  try {
    const http = config.http ? await bindListener(splitListen(config.http), config.http) : null;
    return { fastcgi, http };
  } catch (error) {
    fastcgi.close();
    throw error;
  }
}

export interface ServerOptions {
  /**
   * Handles to listen on: bound here (single process) or by the master and passed down; null when
   * the master accepts and hands over each connection instead (see adopt).
   */
  fastcgi: ListenHandle | null;
  http: ListenHandle | null;
  /** Status and ping paths, answered before any script is looked up. */
  builtins?: (path: string) => BuiltinHandler | null;
  /** Where running requests are published for a watchdog thread. */
  table?: InflightTable | null;
  /** A per-script console; by default each script's console output is decorated with pid and script. */
  consoleFor?: (file: string) => Console;
  /** Where scripts' stderr goes (a watchdog's shared buffer); by default written at once to fd 2. */
  scriptStderr?: LineSink | null;
  /** Compiles scripts somewhere else (the master) instead of loading esbuild here. */
  compiler?: (file: string, source: string, options: CompileOptions) => Promise<string>;
  /** For the access log's %P. */
  masterPid?: number;
  /** Asks for this process to be replaced once its requests finish (a pool worker's retire). */
  retire?: (reason: string) => void;
  /** Told of each script fault (a pool worker tells its master); see ScriptFaults. */
  onFault?: (script: string, kind: FaultKind) => void;
}

export interface RunningServer {
  readonly log: Logger;
  readonly stats: DispatchStats;
  /** Scripts' faults: process handlers hand uncaught exceptions and unhandled rejections to it. */
  readonly faults: ScriptFaults;
  readonly inflight: number;
  readonly connections: number;
  readonly accepted: number;
  /** Times a FastCGI connection arrived with max_connections open. */
  readonly maxConnectionsReached: number;
  /** Requests running now, with their start (performance.now()) for the status page. */
  running(): Array<{ method: string; uri: string; contentLength: number; start: number }>;
  /** Files whose last edit does not compile, for the status page. */
  brokenScripts(): BrokenScript[];
  /**
   * Serves a connection accepted elsewhere (by the master) or handed over by another worker
   * (`unread`: bytes it read but did not parse): a HandleSocket is FastCGI, a net.Socket the HTTP front.
   */
  adopt(socket: ConnectionSocket, unread?: Buffer): void;
  /**
   * Stops accepting, lets in-flight requests finish (up to shutdown_timeout), then closes
   * everything. Without `handOff`, connections are closed as they fall idle; with it, each FastCGI
   * connection is given to `handOff` instead once it is idle at a record boundary (a retiring
   * worker passes it on to another process, see FastCgiServer.handOver).
   */
  stop(handOff?: HandOff): Promise<void>;
  /** Passes up to `count` idle FastCGI connections to `handOff` and serves on (see FastCgiServer.shed). */
  shed(count: number, handOff: HandOff): number;
  /** Stops at once: open requests are cut. */
  kill(): void;
  reopenLogs(): void;
}

export async function startServer(config: Config, options: ServerOptions): Promise<RunningServer> {
  const server = new Server(config, options);
  await server.start(options);
  return server;
}

/** The parts of one serving process, wired once; `start` preloads scripts and listens. */
class Server implements RunningServer {
  readonly log: Logger;
  readonly faults: ScriptFaults;
  readonly #config: Config;
  readonly #errorSink: LogSink;
  readonly #accessSink: LogSink;
  readonly #resolver: ScriptResolver;
  readonly #lifecycle: ModuleLifecycle;
  readonly #loader: ScriptLoader;
  readonly #toolkit: Toolkit;
  readonly #table: InflightTable | null;
  readonly #dispatcher: Dispatcher;
  readonly #fastcgi: FastCgiServer;
  /** Set by start() when the HTTP front is configured. */
  #http: HttpFront | null = null;

  constructor(config: Config, options: ServerOptions) {
    // Stacks of script errors name TypeScript lines (the loader emits inline source maps).
    process.setSourceMapsEnabled(true);
    this.#config = config;
    this.#errorSink = new LogSink(config.error_log);
    this.#accessSink = new LogSink(config.access_log);
    const log = (this.log = new Logger(this.#errorSink, config.log_level));
    const resolver = (this.#resolver = new ScriptResolver({
      root: config.root,
      mount: config.mount,
      extensions: config.extensions,
      index: config.index,
      hidden: [config.templates],
    }));
    const lifecycle = (this.#lifecycle = new ModuleLifecycle({ timeout: config.dispose_timeout, log: log.log }));
    const loader = (this.#loader = new ScriptLoader({
      root: config.root,
      // .tsx scripts render JSX to HTML with tscgi's own runtime unless a file names another (@jsxImportSource).
      hostModules: { tscgi: api, "tscgi/jsx-runtime": jsxRuntime },
      jsxImportSource: "tscgi",
      log: log.log,
      consoleFor:
        options.consoleFor ??
        scriptConsoles({ root: config.root, decorate: config.decorate_workers_output, stderr: options.scriptStderr ?? undefined }),
      compiler: options.compiler,
      keepLastGood: !config.display_errors,
      onDrop: (file, exports) => lifecycle.dropped(file, exports),
    }));
    loader.onChange(() => resolver.invalidate());
    const table = (this.#table = options.table ?? null);
    this.faults = new ScriptFaults({ root: config.root, log, onFault: options.onFault });
    this.#toolkit = createToolkit(config, log);
    this.#dispatcher = new Dispatcher({
      root: config.root,
      resolver,
      loader,
      maxBodySize: config.max_body_size,
      requestTimeout: config.request_timeout,
      timeoutGrace: config.request_timeout_grace,
      retire: options.retire,
      faults: this.faults,
      log,
      accessLog: new AccessLog(this.#accessSink, config.access_format, { masterPid: options.masterPid ?? process.pid }),
      maxInflight: config.max_inflight,
      retryAfter: Math.max(1, Math.ceil(config.overload_retry_after / 1000)),
      builtins: options.builtins,
      table,
      toolkit: this.#toolkit,
      displayErrors: config.display_errors,
      extensions: config.extensions,
    });
    const allowed = config.allowed_clients;
    this.#fastcgi = new FastCgiServer(this.#dispatcher, {
      maxConnections: config.max_connections,
      backlog: config.listen_backlog,
      paramsTimeout: config.params_timeout,
      keepaliveTimeout: config.keepalive_timeout,
      log,
      allowClient: allowed === null ? undefined : (address) => clientAllowed(allowed, address),
      table,
      connection: {
        ...defaultConnectionOptions,
        maxParamsBytes: config.max_params_bytes,
        maxPendingParamsBytes: config.max_pending_params_bytes,
        maxParamsPairs: config.max_params,
        maxRequests: config.max_requests_per_connection,
        stdinHighWaterMark: config.body_buffer_size,
        readPool: new BufferPool(POOL_MAX_FREE),
        scavengePacer: new ScavengePacer(SCAVENGE_EVERY, scavenge),
        getValues: {
          maxConns: config.max_connections,
          maxReqs: config.max_requests_per_connection,
          mpxsConns: true,
        },
      },
    });
  }

  /** Loads the preload scripts, then listens on the handles given; on failure everything opened is closed. */
  async start(options: ServerOptions): Promise<void> {
    const config = this.#config;
    try {
      if (config.preload.length > 0) await preloadScripts(config.preload, this.#resolver, this.#loader, this.log);
      // node:http costs a FastCGI-only worker about 2 MiB of RSS: loaded only when the HTTP front is on.
      if (config.http !== null) this.#http = new (await import("./http-front.ts")).HttpFront(this.#dispatcher, this.#table);
      // A socket bound by the master can still fail here: another process began listening on its
      // port in between (both sockets had SO_REUSEADDR, and only one may listen).
      if (options.fastcgi) await listenedAs(config.listen, this.#fastcgi.listen(options.fastcgi));
      if (this.#http && options.http) await listenedAs(config.http ?? "http", this.#http.listen(options.http, config.listen_backlog));
    } catch (error) {
      this.#fastcgi.stopAccepting();
      this.#close();
      throw error;
    }
  }

  get stats(): DispatchStats {
    return this.#dispatcher.stats;
  }

  get inflight(): number {
    return this.#dispatcher.inflight;
  }

  get connections(): number {
    return this.#fastcgi.connections;
  }

  get accepted(): number {
    return this.#fastcgi.accepted;
  }

  get maxConnectionsReached(): number {
    return this.#fastcgi.maxConnectionsReached;
  }

  running(): Array<{ method: string; uri: string; contentLength: number; start: number }> {
    const out = [];
    for (const r of this.#dispatcher.running) {
      const p = r.exchange.params;
      out.push({
        method: p.REQUEST_METHOD ?? "-",
        uri: p.REQUEST_URI ?? p.DOCUMENT_URI ?? "-",
        contentLength: Number(p.CONTENT_LENGTH) || 0,
        start: r.start,
      });
    }
    return out;
  }

  brokenScripts(): BrokenScript[] {
    return this.#loader.broken();
  }

  adopt(socket: ConnectionSocket, unread?: Buffer): void {
    if (socket instanceof HandleSocket) this.#fastcgi.adopt(socket, unread);
    else this.#http?.adopt(socket);
  }

  async stop(handOff?: HandOff): Promise<void> {
    const dispatcher = this.#dispatcher;
    const fastcgi = this.#fastcgi;
    const http = this.#http;
    http?.drain(FIRST_REQUEST_GRACE);
    const inflight = dispatcher.inflight;
    if (inflight > 0) this.log.info(`stopping: waiting for ${inflight} request(s) in flight`);
    // Done when no request runs and every connection is gone: closed (or handed over) as it falls
    // idle, a just-accepted one after FIRST_REQUEST_GRACE at most, so none is cut mid-request.
    const gone = Promise.all([handOff ? fastcgi.handOver(handOff) : fastcgi.close(), http?.closed(), dispatcher.idle()]);
    const timedOut = !(await settlesWithin(gone, this.#config.shutdown_timeout));
    if (timedOut) this.log.warn(`stopping: shutdown_timeout passed with ${dispatcher.inflight} request(s) still running`);
    // Scripts' module-scope pools and timers close before the process goes (their dispose()).
    this.#loader.unloadAll();
    await this.#lifecycle.settled();
    fastcgi.destroyAll();
    http?.destroyAll();
    this.#close();
  }

  shed(count: number, handOff: HandOff): number {
    return this.#fastcgi.shed(count, handOff);
  }

  kill(): void {
    this.#fastcgi.destroyAll();
    this.#http?.destroyAll();
    this.#close();
  }

  reopenLogs(): void {
    this.#errorSink.reopen();
    this.#accessSink.reopen();
  }

  #close(): void {
    this.#dispatcher.close();
    this.#loader.close();
    void this.#toolkit.sessions.close();
    this.#toolkit.templates.close();
    this.log.flush();
    this.#accessSink.close();
    this.#errorSink.flush();
  }
}

/** True when `promise` settles within `ms` (0: no limit). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms <= 0) return promise.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `listening`, its failure as a ListenError for `address`. */
async function listenedAs(address: string, listening: Promise<void>): Promise<void> {
  try {
    await listening;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ListenError(address, typeof code === "string" ? socketFault(code) : error);
  }
}
