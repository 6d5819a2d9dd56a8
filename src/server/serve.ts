// One tscgi server process: script resolution and loading, dispatch, the FastCGI listener, the HTTP front.
import type { Config } from "../config/index.ts";
import { defaultConnectionOptions } from "../fastcgi/connection.ts";
import * as api from "../index.ts";
import { ScriptLoader } from "../scripts/loader.ts";
import { ScriptResolver } from "../scripts/resolve.ts";
import { AccessLog } from "./access-log.ts";
import { formatAddress, type ListenAddress } from "./address.ts";
import { Dispatcher } from "./dispatch.ts";
import { FastCgiServer } from "./fastcgi-server.ts";
import { HttpFront } from "./http-front.ts";
import { LogSink, Logger } from "./log.ts";

export interface RunningServer {
  readonly fastcgi: ListenAddress;
  readonly http: ListenAddress | null;
  readonly log: Logger;
  /** Stops accepting, lets in-flight requests finish (up to shutdown_timeout), then closes everything. */
  stop(): Promise<void>;
  /** Stops at once: open requests are cut. */
  kill(): void;
  reopenLogs(): void;
}

export async function startServer(config: Config): Promise<RunningServer> {
  // Stacks of script errors name TypeScript lines (the loader emits inline source maps).
  process.setSourceMapsEnabled(true);
  const errorSink = new LogSink(config.error_log);
  const accessSink = new LogSink(config.access_log);
  const log = new Logger(errorSink, config.log_level);
  const resolver = new ScriptResolver({
    root: config.root,
    mount: config.mount,
    extensions: config.extensions,
    index: config.index,
  });
  const loader = new ScriptLoader({ root: config.root, hostModules: { tscgi: api }, log: log.log });
  loader.onChange(() => resolver.invalidate());
  const dispatcher = new Dispatcher({
    root: config.root,
    resolver,
    loader,
    maxBodySize: config.max_body_size,
    requestTimeout: config.request_timeout,
    log,
    accessLog: new AccessLog(accessSink),
  });
  const fastcgi = new FastCgiServer(dispatcher, {
    listen: config.listen,
    maxConnections: config.max_connections,
    log,
    connection: {
      ...defaultConnectionOptions,
      maxParamsBytes: config.max_params_bytes,
      maxParamsPairs: config.max_params,
      maxRequests: config.max_requests_per_connection,
      stdinHighWaterMark: config.body_buffer_size,
      getValues: {
        maxConns: config.max_connections,
        maxReqs: config.max_requests_per_connection,
        mpxsConns: true,
      },
      log: (level, message) => log.log(level, `fastcgi: ${message}`),
    },
  });
  const http = config.http ? new HttpFront(dispatcher, config.http) : null;
  const close = () => {
    dispatcher.close();
    loader.close();
    log.flush();
    accessSink.close();
    errorSink.flush();
  };
  let fastcgiAddress: ListenAddress;
  let httpAddress: ListenAddress | null = null;
  try {
    fastcgiAddress = await fastcgi.listen();
    if (http) httpAddress = await http.listen();
  } catch (error) {
    fastcgi.stopAccepting();
    close();
    throw error;
  }
  if (config.workers > 0) {
    // Said loudly rather than ignored: the pool of worker processes is not built yet.
    log.warn(`workers = ${config.workers}: worker processes are not supported yet; serving from this one process`);
  }
  log.info(`serving ${config.root} (pid ${process.pid})`);
  log.info(`listening on fastcgi ${formatAddress(fastcgiAddress)}`);
  if (httpAddress) log.info(`listening on http ${formatAddress(httpAddress)}`);
  log.flush();

  return {
    fastcgi: fastcgiAddress,
    http: httpAddress,
    log,
    async stop() {
      fastcgi.stopAccepting();
      http?.stopAccepting();
      fastcgi.closeIdle();
      const inflight = dispatcher.inflight;
      if (inflight > 0) log.info(`stopping: waiting for ${inflight} request(s) in flight`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        dispatcher.idle().then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), config.shutdown_timeout || 2 ** 31 - 1);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) log.warn(`stopping: shutdown_timeout passed with ${dispatcher.inflight} request(s) still running`);
      fastcgi.destroyAll();
      http?.destroyAll();
      log.info("stopped");
      close();
    },
    kill() {
      fastcgi.destroyAll();
      http?.destroyAll();
      close();
    },
    reopenLogs() {
      errorSink.reopen();
      accessSink.reopen();
    },
  };
}
