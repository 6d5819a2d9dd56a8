// A worker process: serves requests on the sockets the master hands it, reports to the master,
// retires itself when recycling says so, and keeps a watchdog thread beside its main thread.
import { writeSync } from "node:fs";
import { Socket } from "node:net";
import type { Config } from "../config/types.ts";
import { socketHandle } from "../node-internals.ts";
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
const pendingStatus = new Map<number, (reply: Extract<ToWorker, { type: "status" }>) => void>();
let statusIds = 0;
const pendingConnections: Array<{ which: "fastcgi" | "http"; socket: Socket; unread?: Buffer }> = [];

let exitReported = false;
function reportExit(code: number, reason: string): void {
  if (exitReported) return;
  exitReported = true;
  const requests = watchdog?.table.snapshot().map((s) => ({ script: s.script || "-", method: s.method, uri: s.uri })) ?? [];
  const message: WatchdogReport = { type: "exiting", code, reason, requests };
  try {
    writeSync(REPORT_FD, JSON.stringify(message) + "\n");
  } catch {
    // No master to tell.
  }
}

function retire(reason: string): void {
  if (retiring || stopping) return;
  retiring = true;
  send({ type: "retire", reason });
}

async function start(): Promise<void> {
  const c = config!;
  watchdog = startWatchdog(c, true);
  server = await startServer(c, {
    fastcgi: ondemand ? null : handles.fastcgi!,
    http: ondemand ? null : (handles.http ?? null),
    table: watchdog.table,
    scriptStderr: watchdog.stderr,
    masterPid: process.ppid,
    compiler: compileInMaster,
    builtins: builtinRoutes(c, (query, accept) => askStatus(query, accept)),
    retire,
    onFault: (script, kind) => send({ type: "fault", script, kind }),
  });
  const jitter = c.max_requests_jitter > 0 ? Math.floor(Math.random() * (c.max_requests_jitter + 1)) : 0;
  requestLimit = c.max_requests > 0 ? c.max_requests + jitter : 0;
  for (const { which, socket, unread } of pendingConnections.splice(0)) server.adopt(which, socket, unread);
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
      send({ type: "load", inflight, requests });
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
  send({ type: "ready" });
}

const pendingCompiles = new Map<number, (code: string | null) => void>();
let compileIds = 0;

/** Scripts are compiled by the master, once for all workers; this process compiles only to report an error. */
async function compileInMaster(file: string, source: string, options: CompileOptions): Promise<string> {
  const id = ++compileIds;
  const code = process.connected
    ? await new Promise<string | null>((resolve) => {
        pendingCompiles.set(id, resolve);
        send({ type: "compile", id, file, source, options });
      })
    : null;
  return code ?? compile(file, source, options);
}

function askStatus(query: string, accept: string): Promise<Extract<ToWorker, { type: "status" }>> {
  const id = ++statusIds;
  return new Promise((resolve) => {
    pendingStatus.set(id, resolve);
    send({ type: "status", id, query, accept });
  });
}

/**
 * An idle kept-alive connection goes to the master, which passes it to another worker: its raw
 * handle, so that no process reads from it in between. Our copy of the fd is closed once sent.
 */
function handOff(socket: Socket, unread: Buffer): void {
  const handle = socketHandle<object>(socket);
  if (!handle || !process.connected) return void socket.destroy();
  handoffsInFlight++;
  const message: FromWorker = { type: "handoff", which: "fastcgi", unread: unread.length > 0 ? unread : null };
  process.send!(message, handle as never, {}, () => {
    socket.destroy();
    if (--handoffsInFlight === 0) for (const wake of handoffsSent.splice(0)) wake();
  });
}

// Node sends one handle at a time (each waits for the other side's acknowledgement): the process
// must not exit while some are still queued, or their connections would be reset.
let handoffsInFlight = 0;
const handoffsSent: Array<() => void> = [];
function allHandedOff(): Promise<void> {
  return handoffsInFlight === 0 ? Promise.resolve() : new Promise((resolve) => handoffsSent.push(resolve));
}

/** `handOver`: idle connections go on to other workers (reload, recycling); otherwise they are closed (shutdown). */
async function stop(handOver: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server?.stop(handOver && process.connected ? handOff : undefined);
  await allHandedOff();
  watchdog?.stop();
  process.exit(0);
}

/** A connection from the master: accepted there (a paused Socket) or handed over by a retiring worker (a raw handle). */
function connectionOf(handle: unknown): Socket {
  return handle instanceof Socket ? handle : new Socket({ handle, readable: true, writable: true } as never);
}

process.on("message", (message: ToWorker, handle?: unknown) => {
  switch (message.type) {
    case "init":
      config = message.config;
      ondemand = message.ondemand;
      if (ondemand || (handles.fastcgi && (config.http === null || handles.http))) void start().catch(fatal);
      break;
    case "listen":
      handles[message.which] = handle as ListenHandle;
      if (config && !server && handles.fastcgi && (config.http === null || handles.http)) void start().catch(fatal);
      break;
    case "conn": {
      const socket = connectionOf(handle);
      const unread = message.unread ? Buffer.from(message.unread.buffer, message.unread.byteOffset, message.unread.byteLength) : undefined;
      if (server) server.adopt(message.which, socket, unread);
      else pendingConnections.push({ which: message.which, socket, unread });
      break;
    }
    case "stop":
      void stop(message.handOver);
      break;
    case "reopen":
      server?.reopenLogs();
      break;
    case "report":
      if (server) send({ type: "report", id: message.id, report: workerReport(server) });
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

// A script's throw from a timer or unhandled rejection costs its own request only (ScriptFaults).
// One of tscgi's own leaves this process in an unknown state: it stops taking requests, finishes
// the ones it has and is replaced; before it serves, it exits.
function uncaught(kind: "uncaught" | "rejection", error: unknown): void {
  if (server?.faults.caught(kind, error)) return;
  const what = kind === "uncaught" ? "uncaught exception" : "unhandled promise rejection";
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (server === null) {
    process.stderr.write(`tscgi worker ${process.pid}: ${what}: ${text}\n`);
    reportExit(1, `${what}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  server.log.error(`${what} in tscgi itself, no script's: worker ${process.pid} is replaced once its requests finish: ${text}`);
  retire(`${what} in tscgi itself`);
}
process.on("uncaughtException", (error) => uncaught("uncaught", error));
process.on("unhandledRejection", (reason) => uncaught("rejection", reason));
process.on("exit", (code) => {
  if (!stopping) reportExit(code, `process.exit(${code}) called`);
});
// A terminal's signals reach the whole process group; the master decides what they mean.
for (const signal of ["SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR2"] as const) process.on(signal, () => {});
process.on("SIGUSR1", () => server?.reopenLogs());
process.on("SIGTERM", () => void stop(false));
process.on("disconnect", () => void stop(false));
