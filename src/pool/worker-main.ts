// A worker process: serves requests on the sockets the master hands it, reports to the master,
// retires itself when recycling says so, and keeps a watchdog thread beside its main thread.
import { writeSync } from "node:fs";
import type { Socket } from "node:net";
import type { Config } from "../config/index.ts";
import { compile, type CompileOptions } from "../scripts/compile.ts";
import type { ListenHandle } from "../server/bind.ts";
import { startServer, type RunningServer } from "../server/serve.ts";
import { startWatchdog, type Watchdog } from "./watchdog-handle.ts";
import { REPORT_FD, type FromWorker, type ToWorker, type WatchdogReport } from "./protocol.ts";
import { builtinRoutes } from "./builtins.ts";
import { workerReport } from "./report.ts";
import { RssReader } from "./fd-limit.ts";

const send = (message: FromWorker): void => {
  if (process.connected) process.send!(message);
};

let config: Config | null = null;
let ondemand = false;
const handles: { fastcgi?: ListenHandle; http?: ListenHandle } = {};
let server: RunningServer | null = null;
let watchdog: Watchdog | null = null;
let stopping = false;
let retiring = false;
const startedAt = Date.now();
// Each worker recycles at its own count so that workers started together do not all restart at once.
let requestLimit = 0;
const pendingStatus = new Map<number, (reply: Extract<ToWorker, { t: "status" }>) => void>();
let statusIds = 0;
const pendingConnections: Array<{ which: "fastcgi" | "http"; socket: Socket }> = [];

let exitReported = false;
function reportExit(code: number, reason: string): void {
  if (exitReported) return;
  exitReported = true;
  const requests = watchdog?.table.snapshot().map((s) => ({ script: s.script || "-", method: s.method, uri: s.uri })) ?? [];
  const message: WatchdogReport = { t: "exiting", code, reason, requests };
  try {
    writeSync(REPORT_FD, JSON.stringify(message) + "\n");
  } catch {
    // No master to tell.
  }
}

function retire(reason: string): void {
  if (retiring || stopping) return;
  retiring = true;
  send({ t: "retire", reason });
}

async function start(): Promise<void> {
  const c = config!;
  watchdog = startWatchdog(c, true);
  server = await startServer(c, {
    fastcgi: ondemand ? null : handles.fastcgi!,
    http: ondemand ? null : (handles.http ?? null),
    table: watchdog.table,
    masterPid: process.ppid,
    compiler: compileInMaster,
    builtins: builtinRoutes(c, (query, accept) => askStatus(query, accept)),
  });
  const jitter = c.max_requests_jitter > 0 ? Math.floor(Math.random() * (c.max_requests_jitter + 1)) : 0;
  requestLimit = c.max_requests > 0 ? c.max_requests + jitter : 0;
  for (const { which, socket } of pendingConnections.splice(0)) server.adopt(which, socket);
  // Load reports drive the process manager; sent only when something changed.
  let lastInflight = -1;
  let lastRequests = -1;
  const loadTimer = setInterval(() => {
    const s = server!;
    const requests = s.stats.requests;
    const inflight = s.inflight;
    if (inflight !== lastInflight || requests !== lastRequests) {
      lastInflight = inflight;
      lastRequests = requests;
      send({ t: "load", inflight, requests });
    }
    if (requestLimit > 0 && requests >= requestLimit) retire(`max_requests (${requestLimit}) reached`);
  }, 50);
  loadTimer.unref();
  const rssReader = new RssReader(server.log.log);
  const healthTimer = setInterval(() => {
    const rss = rssReader.read(); // null while out of file descriptors: logged, and survived
    if (rss !== null && c.worker_memory_limit > 0 && rss > c.worker_memory_limit) {
      retire(`worker_memory_limit: RSS ${(rss / 1048576).toFixed(1)} MiB over ${(c.worker_memory_limit / 1048576).toFixed(1)} MiB`);
    } else if (c.worker_max_age > 0 && Date.now() - startedAt > c.worker_max_age) {
      retire(`worker_max_age (${c.worker_max_age / 1000} s) reached`);
    }
  }, 1000);
  healthTimer.unref();
  send({ t: "ready" });
}

const pendingCompiles = new Map<number, (code: string | null) => void>();
let compileIds = 0;

/** Scripts are compiled by the master, once for all workers; this process compiles only to report an error. */
async function compileInMaster(file: string, source: string, options: CompileOptions): Promise<string> {
  const id = ++compileIds;
  const code = process.connected
    ? await new Promise<string | null>((resolve) => {
        pendingCompiles.set(id, resolve);
        send({ t: "compile", id, file, source, options });
      })
    : null;
  return code ?? compile(file, source, options);
}

function askStatus(query: string, accept: string): Promise<Extract<ToWorker, { t: "status" }>> {
  const id = ++statusIds;
  return new Promise((resolve) => {
    pendingStatus.set(id, resolve);
    send({ t: "status", id, query, accept });
  });
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server?.stop();
  watchdog?.stop();
  process.exit(0);
}

process.on("message", (message: ToWorker, handle?: unknown) => {
  switch (message.t) {
    case "init":
      config = message.config;
      ondemand = message.ondemand;
      if (ondemand || (handles.fastcgi && (config.http === null || handles.http))) void start().catch(fatal);
      break;
    case "listen":
      handles[message.which] = handle as ListenHandle;
      if (config && !server && handles.fastcgi && (config.http === null || handles.http)) void start().catch(fatal);
      break;
    case "conn":
      if (server) server.adopt(message.which, handle as Socket);
      else pendingConnections.push({ which: message.which, socket: handle as Socket });
      break;
    case "stop":
      void stop();
      break;
    case "reopen":
      server?.reopenLogs();
      break;
    case "report":
      if (server) send({ t: "report", id: message.id, report: workerReport(server) });
      break;
    case "status":
      pendingStatus.get(message.id)?.(message);
      pendingStatus.delete(message.id);
      break;
    case "compiled":
      pendingCompiles.get(message.id)?.(message.code);
      pendingCompiles.delete(message.id);
      break;
  }
});

function fatal(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`tscgi worker ${process.pid}: ${text}\n`);
  reportExit(1, "failed to start");
  process.exit(1);
}

// A script that throws from a timer or an unhandled promise leaves this process in an unknown
// state: log what was running, then exit; the master starts a fresh worker.
process.on("uncaughtException", (error) => {
  server?.log.error(
    `uncaught exception, worker ${process.pid} exits: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  server?.log.flush();
  reportExit(1, `uncaught exception: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
process.on("exit", (code) => {
  if (!stopping) reportExit(code, `process.exit(${code}) called`);
});
// A terminal's signals reach the whole process group; the master decides what they mean.
for (const signal of ["SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR2"] as const) process.on(signal, () => {});
process.on("SIGUSR1", () => server?.reopenLogs());
process.on("SIGTERM", () => void stop());
process.on("disconnect", () => void stop());
