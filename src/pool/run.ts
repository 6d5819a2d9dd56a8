// `tscgi serve`: a master with worker processes, or with `workers = 0` one process doing it all.
// Signals as PHP-FPM takes them: TERM/INT/QUIT stop gracefully (twice: at once), HUP/USR2 reload
// the config and replace the workers, USR1 reopens log files.
import type { Config, LoadedConfig } from "../config/types.ts";
import { loadConfig } from "../config/load.ts";
import { describeListeners } from "../server/address.ts";
import { LogSink } from "../server/log.ts";
import { bindListeners, startServer, type RunningServer } from "../server/serve.ts";
import { builtinRoutes } from "./builtins.ts";
import { warnIfFewFiles } from "./fd-limit.ts";
import { Master } from "./master.ts";
import { workerReport } from "./report.ts";
import { PoolCounters, workerStatus } from "./status-collect.ts";
import { readiness } from "./readiness.ts";
import { StatusListener } from "./status-listener.ts";
import { narrowProcessEnv } from "./script-env.ts";
import { mergeBroken, renderStatus } from "./status.ts";
import { startWatchdog } from "./watchdog-handle.ts";
import { slowlogEntryFor } from "./slow-report.ts";
import { ProcessSignals } from "./signals.ts";
import { resolverOptions, warnRouteConflicts } from "../scripts/routes.ts";
import { stackOf } from "../errors.ts";

export interface ServeInputs {
  loaded: LoadedConfig;
  argv: string[];
  cwd: string;
}

export async function serve(inputs: ServeInputs): Promise<void> {
  if (inputs.loaded.config.workers === 0) return serveSingle(inputs.loaded.config);
  const master = new Master(inputs.loaded.config);
  warnIfFewFiles(inputs.loaded.config.max_connections, master.log.log);
  new ProcessSignals(master.log).listen({
    stop: () => master.stop(),
    kill: () => master.kill(),
    reload: (signal) => {
      let config: Config;
      try {
        config = loadConfig({ argv: inputs.argv, env: process.env, cwd: inputs.cwd }).config;
      } catch (error) {
        master.log.error(`${signal}: the new config is not valid, keeping the running one: ${(error as Error).message}`);
        master.log.flush();
        return;
      }
      master.log.info(`${signal}: reloading the config and replacing the workers`);
      warnIfFewFiles(config.max_connections, master.log.log);
      void master.reload(config).catch((error: Error) => master.log.error(`reload failed: ${error.message}`));
    },
    reopenLogs: () => master.reopenLogs(),
  });
  // A stop for a fault (not a signal) still ends the process, with the master's status.
  void master.done.then(() => {
    if (master.exitCode !== 0) process.exit(master.exitCode);
  });
  await master.start();
}

/** One process: the development mode, and what tests of the gateway itself run against. */
async function serveSingle(config: Config): Promise<void> {
  narrowProcessEnv(config, process.env);
  const listeners = await bindListeners(config);
  const counters = new PoolCounters();
  const slowSink = new LogSink(config.slowlog);
  const watchdog = startWatchdog(config, false, (report) => {
    if (report.type !== "slow") return;
    counters.slow++;
    slowSink.line(slowlogEntryFor(process.pid, report));
  });
  let server: RunningServer | null = null;
  const status = async (query: string, accept: string) => {
    const s = server!;
    counters.requests(0, s.stats.requests);
    const report = workerReport(s, counters.slow);
    const me = workerStatus(process.pid, counters.startTime, report.current ? "Running" : "Idle", report);
    const active = me.state === "Running" ? 1 : 0;
    counters.active(active);
    const rendered = renderStatus(
      {
        pool: "tscgi",
        processManager: config.pm,
        startTime: counters.startTime,
        acceptedConn: counters.accepted,
        listenQueue: 0,
        maxListenQueue: counters.maxListenQueue,
        listenQueueLen: config.listen_backlog,
        idleProcesses: 1 - active,
        activeProcesses: active,
        totalProcesses: 1,
        maxActiveProcesses: counters.maxActive,
        maxChildrenReached: report.rejected,
        slowRequests: counters.slow,
        rejectedRequests: report.rejected,
        workerRestarts: 0,
        maxConnectionsReached: report.maxConnectionsReached,
        scriptFaults: s.faults.tally.list(),
        brokenScripts: mergeBroken([report.broken]),
        processes: [me],
      },
      query,
      accept,
    );
    return { ok: true, ...rendered };
  };
  server = await startServer(config, {
    fastcgi: listeners.fastcgi.handle,
    http: listeners.http?.handle ?? null,
    table: watchdog.table,
    scriptStderr: watchdog.stderr,
    builtins: builtinRoutes(config, status),
  });
  const s = server;
  // A script's throw from a timer or unhandled rejection costs its own request only (ScriptFaults);
  // one of tscgi's own is logged, as nothing could replace this process.
  const uncaught = (kind: "uncaught" | "rejection") => (error: unknown) => {
    if (s.faults.caught(kind, error)) return;
    const what = kind === "uncaught" ? "uncaught exception" : "unhandled promise rejection";
    s.log.error(`${what} in tscgi itself, no script's; the single process carries on: ${stackOf(error)}`);
  };
  process.on("uncaughtException", uncaught("uncaught"));
  process.on("unhandledRejection", uncaught("rejection"));
  s.log.info(`serving ${config.root} (pid ${process.pid}, single process)`);
  warnRouteConflicts(resolverOptions(config), (line) => s.log.warn(line));
  warnIfFewFiles(config.max_connections, s.log.log);
  for (const line of describeListeners(listeners)) s.log.info(line);
  const signals = new ProcessSignals(s.log);
  // One event loop runs the scripts too: this answers readiness, but not while a script blocks it.
  const statusListener = await StatusListener.start(config, s.log, {
    status,
    readiness: () =>
      readiness({
        stopping: signals.stopping,
        workers: [{ ready: true, inflight: s.inflight }],
        maxWorkers: 1,
        maxInflight: config.max_inflight,
        onDemand: false,
        listenQueue: 0,
      }),
  });
  s.log.flush();
  const close = () => {
    statusListener?.close();
    watchdog.stop();
    slowSink.close();
    listeners.fastcgi.close();
    listeners.http?.close();
  };
  signals.listen({
    stop: async () => {
      await s.stop();
      s.log.info("stopped");
      s.log.flush();
      close();
    },
    kill: () => {
      s.kill();
      close();
    },
    reload: (signal) => s.log.warn(`${signal}: reloading needs the worker pool (workers > 0); restart this process instead`),
    reopenLogs: () => {
      s.reopenLogs();
      slowSink.reopen();
    },
  });
}
