// A worker process: serves requests on the sockets the master hands it, reports to the master,
// retires itself when recycling says so, and keeps a watchdog thread beside its main thread.
import { writeSync } from "node:fs";
import { Socket } from "node:net";
import { getHeapStatistics } from "node:v8";
import type { Config } from "../config/types.ts";
import { collectGarbage, type StreamHandle } from "../node-internals.ts";
import { compile, type CompileOptions } from "../scripts/compile.ts";
import type { ListenHandle } from "../server/bind.ts";
import { HandleSocket, type ConnectionSocket } from "../server/handle-socket.ts";
import { startServer, type RunningServer } from "../server/serve.ts";
import { startWatchdog, type Watchdog } from "./watchdog-handle.ts";
import { REPORT_FD, type FromWorker, type ToWorker, type WatchdogReport } from "./protocol.ts";
import { builtinRoutes } from "./builtins.ts";
import { workerReport } from "./report.ts";
import { RssReader } from "./fd-limit.ts";
import { IdleCollector } from "./idle-collector.ts";
import { PendingReplies } from "./pending-replies.ts";
import { messageOf, stackOf } from "../errors.ts";
import { ListenError } from "../server/errors.ts";

type Ipc = NonNullable<typeof process.send>;
type StatusReply = Extract<ToWorker, { type: "status" }>;

/** The worker's state, held by one instance that the process's message, signal and error handlers call. */
class WorkerMain {
  readonly #ipc: Ipc;
  #config: Config | null = null;
  #ondemand = false;
  readonly #handles: { fastcgi?: ListenHandle; http?: ListenHandle } = {};
  #starting = false;
  #server: RunningServer | null = null;
  #watchdog: Watchdog | null = null;
  #stopping = false;
  #retiring = false;
  readonly #startedAt = Date.now();
  readonly #statusReplies = new PendingReplies<StatusReply>();
  readonly #compileReplies = new PendingReplies<string | null>();
  readonly #pendingConnections: Array<{ socket: ConnectionSocket; unread?: Buffer }> = [];
  #exitReported = false;
  // Node sends one handle at a time (each waits for the other side's acknowledgement): the process
  // must not exit while some are still queued, or their connections would be reset.
  #handoffsInFlight = 0;
  readonly #handoffsSent: Array<() => void> = [];

  constructor(ipc: Ipc) {
    this.#ipc = ipc;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  #send(message: FromWorker): void {
    if (process.connected) this.#ipc(message);
  }

  reportExit(code: number, reason: string, cannotListen?: string): void {
    if (this.#exitReported) return;
    this.#exitReported = true;
    const requests = this.#watchdog?.table.snapshot().map((s) => ({ script: s.script || "-", method: s.method, uri: s.uri })) ?? [];
    const message: WatchdogReport = { type: "exiting", code, reason, requests, cannotListen };
    try {
      writeSync(REPORT_FD, JSON.stringify(message) + "\n");
    } catch {
      // No master to tell.
    }
  }

  #retire(reason: string): void {
    if (this.#retiring || this.#stopping) return;
    this.#retiring = true;
    this.#send({ type: "retire", reason });
  }

  /** Starts serving once the config and the listening sockets it needs have arrived (ondemand: none). */
  #startWhenReady(): void {
    const config = this.#config;
    if (config === null || this.#starting) return;
    let fastcgi: ListenHandle | null = null;
    let http: ListenHandle | null = null;
    if (!this.#ondemand) {
      fastcgi = this.#handles.fastcgi ?? null;
      http = this.#handles.http ?? null;
      if (fastcgi === null || (config.http !== null && http === null)) return;
    }
    this.#starting = true;
    this.#start(config, fastcgi, http).catch((error: unknown) => this.#fatal(error));
  }

  async #start(c: Config, fastcgi: ListenHandle | null, http: ListenHandle | null): Promise<void> {
    const watchdog = (this.#watchdog = startWatchdog(c, true));
    const server = await startServer(c, {
      fastcgi,
      http,
      table: watchdog.table,
      scriptStderr: watchdog.stderr,
      masterPid: process.ppid,
      compiler: (file, source, options) => this.#compileInMaster(file, source, options),
      builtins: builtinRoutes(c, (query, accept) => this.#askStatus(query, accept)),
      retire: (reason) => this.#retire(reason),
      onFault: (script, kind) => this.#send({ type: "fault", script, kind }),
    });
    this.#server = server;
    // Each worker recycles at its own count so that workers started together do not all restart at once.
    const jitter = c.max_requests_jitter > 0 ? Math.floor(Math.random() * (c.max_requests_jitter + 1)) : 0;
    const requestLimit = c.max_requests > 0 ? c.max_requests + jitter : 0;
    for (const { socket, unread } of this.#pendingConnections.splice(0)) server.adopt(socket, unread);
    // Load reports drive the process manager; sent only when something changed.
    let lastInflight = -1;
    let lastRequests = -1;
    let lastConnections = -1;
    const collector = c.worker_idle_gc > 0 ? this.#idleCollector(c.worker_idle_gc, server) : null;
    const loadTimer = setInterval(() => {
      const requests = server.stats.requests;
      const inflight = server.inflight;
      const connections = server.connections;
      if (inflight !== lastInflight || requests !== lastRequests || connections !== lastConnections) {
        lastInflight = inflight;
        lastRequests = requests;
        lastConnections = connections;
        this.#send({ type: "load", inflight, requests, connections });
      }
      if (requestLimit > 0 && requests >= requestLimit) this.#retire(`max_requests (${requestLimit}) reached`);
      // Health checks and status polls come every few seconds and allocate little: they do not end an idle spell.
      collector?.tick(Date.now(), server.stats.scriptRequests, inflight);
    }, 50);
    loadTimer.unref();
    const rssReader = new RssReader(server.log.log);
    const healthTimer = setInterval(() => {
      const rss = rssReader.read(); // null while out of file descriptors: logged, and survived
      if (rss !== null && c.worker_memory_limit > 0 && rss > c.worker_memory_limit) {
        this.#retire(`worker_memory_limit: RSS ${(rss / 1048576).toFixed(1)} MiB over ${(c.worker_memory_limit / 1048576).toFixed(1)} MiB`);
      } else if (c.worker_max_age > 0 && Date.now() - this.#startedAt > c.worker_max_age) {
        this.#retire(`worker_max_age (${c.worker_max_age / 1000} s) reached`);
      }
    }, 1000);
    healthTimer.unref();
    this.#send({ type: "ready" });
  }

  #idleCollector(delay: number, server: RunningServer): IdleCollector {
    const heapBytes = () => {
      const heap = getHeapStatistics();
      return heap.total_physical_size + heap.external_memory;
    };
    return new IdleCollector({
      delay,
      heapBytes,
      collect: (pass) => {
        const before = heapBytes();
        const start = performance.now();
        if (!collectGarbage()) return false;
        const log = server.log;
        if (log.enabled("debug")) {
          const took = (performance.now() - start).toFixed(1);
          const what = pass === 1 ? "full garbage collection" : "a second full garbage collection";
          log.debug(`worker ${process.pid} idle for ${delay} ms: ${what} of a ${(before / 1048576).toFixed(1)} MiB heap in ${took} ms`);
        }
        return true;
      },
    });
  }

  /** Scripts are compiled by the master, once for all workers; this process compiles only to report an error. */
  async #compileInMaster(file: string, source: string, options: CompileOptions): Promise<string> {
    const code = process.connected
      ? await this.#compileReplies.ask((id) => this.#send({ type: "compile", id, file, source, options }))
      : null;
    return code ?? compile(file, source, options);
  }

  #askStatus(query: string, accept: string): Promise<StatusReply> {
    return this.#statusReplies.ask((id) => this.#send({ type: "status", id, query, accept }));
  }

  /**
   * An idle kept-alive connection goes to the master, which passes it to another worker: its raw
   * handle, so that no process reads from it in between. Our copy of the fd is closed once sent.
   */
  #handOff(socket: HandleSocket, unread: Buffer, shed = false): void {
    if (socket.destroyed || !process.connected) return void socket.destroy();
    this.#handoffsInFlight++;
    const message: FromWorker = { type: "handoff", which: "fastcgi", unread: unread.length > 0 ? unread : null, shed };
    this.#ipc(message, socket.handle as never, {}, () => {
      socket.destroy();
      if (--this.#handoffsInFlight === 0) for (const wake of this.#handoffsSent.splice(0)) wake();
    });
  }

  #allHandedOff(): Promise<void> {
    return this.#handoffsInFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.#handoffsSent.push(resolve));
  }

  /** `handOver`: idle connections go on to other workers (reload, recycling); otherwise they are closed (shutdown). */
  async stop(handOver: boolean): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#server?.stop(handOver && process.connected ? (socket, unread) => this.#handOff(socket, unread) : undefined);
    await this.#allHandedOff();
    this.#watchdog?.stop();
    process.exit(0);
  }

  reopenLogs(): void {
    this.#server?.reopenLogs();
  }

  onMessage(message: ToWorker, handle?: unknown): void {
    switch (message.type) {
      case "init":
        this.#config = message.config;
        this.#ondemand = message.ondemand;
        this.#startWhenReady();
        break;
      case "listen":
        this.#handles[message.which] = handle as ListenHandle;
        this.#startWhenReady();
        break;
      case "conn": {
        const socket = connectionOf(message.which, handle);
        const unread = message.unread
          ? Buffer.from(message.unread.buffer, message.unread.byteOffset, message.unread.byteLength)
          : undefined;
        if (this.#server) this.#server.adopt(socket, unread);
        else this.#pendingConnections.push({ socket, unread });
        break;
      }
      case "stop":
        void this.stop(message.handOver);
        break;
      case "shed":
        if (!this.#stopping && !this.#retiring) this.#server?.shed(message.count, (socket, unread) => this.#handOff(socket, unread, true));
        break;
      case "reopen":
        this.reopenLogs();
        break;
      case "report":
        if (this.#server) this.#send({ type: "report", id: message.id, report: workerReport(this.#server) });
        break;
      case "status":
        this.#statusReplies.settle(message.id, message);
        break;
      case "compiled":
        this.#compileReplies.settle(message.id, message.code);
        break;
    }
  }

  #fatal(error: unknown): void {
    // A listen failure is the master's to log, once for the pool, as it stops.
    const cannotListen = error instanceof ListenError ? error.message : undefined;
    if (cannotListen === undefined) process.stderr.write(`tscgi worker ${process.pid}: ${stackOf(error)}\n`);
    this.reportExit(1, "failed to start", cannotListen);
    process.exit(1);
  }

  // A script's throw from a timer or unhandled rejection costs its own request only (ScriptFaults).
  // One of tscgi's own leaves this process in an unknown state: it stops taking requests, finishes
  // the ones it has and is replaced; before it serves, it exits.
  uncaught(kind: "uncaught" | "rejection", error: unknown): void {
    const server = this.#server;
    if (server?.faults.caught(kind, error)) return;
    const what = kind === "uncaught" ? "uncaught exception" : "unhandled promise rejection";
    const text = stackOf(error);
    if (server === null) {
      process.stderr.write(`tscgi worker ${process.pid}: ${what}: ${text}\n`);
      this.reportExit(1, `${what}: ${messageOf(error)}`);
      process.exit(1);
    }
    server.log.error(`${what} in tscgi itself, no script's: worker ${process.pid} is replaced once its requests finish: ${text}`);
    this.#retire(`${what} in tscgi itself`);
  }
}

/**
 * A connection from the master, as a raw handle: accepted there (ondemand) or handed over by
 * another worker. FastCGI is served as an accepted connection is; node:http needs a net.Socket.
 */
function connectionOf(which: "fastcgi" | "http", handle: unknown): ConnectionSocket {
  if (which === "fastcgi") return new HandleSocket(handle as StreamHandle);
  return handle instanceof Socket ? handle : new Socket({ handle, readable: true, writable: true } as never);
}

const ipc = process.send?.bind(process);
if (ipc === undefined) {
  process.stderr.write(`tscgi worker ${process.pid}: started without an IPC channel; workers are started by the master (tscgi serve)\n`);
  process.exit(1);
}
const worker = new WorkerMain(ipc);
process.on("message", (message: ToWorker, handle?: unknown) => worker.onMessage(message, handle));
process.on("uncaughtException", (error) => worker.uncaught("uncaught", error));
process.on("unhandledRejection", (reason) => worker.uncaught("rejection", reason));
process.on("exit", (code) => {
  if (!worker.stopping) worker.reportExit(code, `process.exit(${code}) called`);
});
// A terminal's signals reach the whole process group; the master decides what they mean.
for (const signal of ["SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR2"] as const) process.on(signal, () => {});
process.on("SIGUSR1", () => worker.reopenLogs());
process.on("SIGTERM", () => void worker.stop(false));
process.on("disconnect", () => void worker.stop(false));
