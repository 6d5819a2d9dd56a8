// The master: owns the listening sockets, starts and supervises the workers (pm static, dynamic,
// ondemand), recycles them, replaces them on reload, restarts them with back-off after crashes.
import { createServer, type Server, type Socket } from "node:net";
import type { Config } from "../config/types.ts";
import { describeListeners } from "../server/address.ts";
import { listenOnHandle, type ListenHandle } from "../server/bind.ts";
import { LogSink, Logger } from "../server/log.ts";
import { bindListeners, type Listeners } from "../server/serve.ts";
import { CompileCache } from "./compile-cache.ts";
import { describeExit, describeStuck } from "./exit-report.ts";
import { listenQueue } from "./listen-queue.ts";
import { PoolFaults } from "./pool-faults.ts";
import { adopterFor, initialWorkers, maintain, routeConnection, type PmSettings, type WorkerLoad } from "./pm.ts";
import type { FromWorker, WatchdogReport } from "./protocol.ts";
import { PoolCounters, renderPoolStatus, ReportCollector } from "./status-collect.ts";
import { slowlogEntryFor } from "./slow-report.ts";
import { HEALTHY_LIFETIME } from "./backoff.ts";
import { liveFloor, Respawns } from "./respawn.ts";
import { readiness, type Readiness } from "./readiness.ts";
import { StatusListener } from "./status-listener.ts";
import { WorkerProcess, type PassedHandle } from "./worker-process.ts";
import { resolverOptions, warnRouteConflicts } from "../scripts/routes.ts";

/** How long a new generation may take to become ready before the old one is stopped anyway. */
const READY_TIMEOUT = 10_000;

function pmSettings(c: Config): PmSettings {
  return {
    pm: c.pm,
    maxChildren: c.workers,
    startServers: c.pm_start_servers,
    minSpare: c.pm_min_spare_servers,
    maxSpare: c.pm_max_spare_servers,
    idleTimeout: c.pm_process_idle_timeout,
  };
}

export class Master {
  #config: Config;
  #listeners: Listeners | null = null;
  #acceptors: Server[] = [];
  readonly #workers = new Map<number, WorkerProcess>();
  #nextId = 1;
  #generation = 1;
  #spawnRate = 1;
  #maintenance: NodeJS.Timeout | null = null;
  #respawns: Respawns;
  /** Connections handed over by retiring workers, waiting for a worker that is starting. */
  #handoffs: Array<{ handle: ListenHandle; unread: Uint8Array | null; slot: number }> = [];
  /** Called whenever a worker becomes ready or exits (see #whenReady). */
  #readyWaiters = new Set<() => void>();
  #stopping = false;
  #errorSink: LogSink;
  #slowSink: LogSink;
  log: Logger;
  readonly counters = new PoolCounters();
  readonly faults = new PoolFaults((line) => this.log.error(line));
  readonly #compiled = new CompileCache();
  readonly #reports = new ReportCollector();
  #announced = false;
  #statusListener: StatusListener | null = null;
  readonly #statusSources = { status: (q: string, a: string) => this.#status(q, a), readiness: () => this.readiness() };
  #exited: () => void = () => {};
  readonly done = new Promise<void>((resolve) => (this.#exited = resolve));

  constructor(config: Config) {
    this.#config = config;
    this.#respawns = new Respawns(config.respawn_backoff_max, (slot) => this.#respawnDue(slot));
    this.#errorSink = new LogSink(config.error_log);
    this.#slowSink = new LogSink(config.slowlog);
    this.log = new Logger(this.#errorSink, config.log_level);
  }

  get config(): Config {
    return this.#config;
  }

  get workers(): WorkerProcess[] {
    return [...this.#workers.values()];
  }

  async start(): Promise<void> {
    this.#listeners = await bindListeners(this.#config);
    this.#statusListener = await StatusListener.start(this.#config, this.log, this.#statusSources);
    this.log.info(`master ${process.pid}: pm ${this.#config.pm}, ${this.#config.workers} max workers, serving ${this.#config.root}`);
    warnRouteConflicts(resolverOptions(this.#config), (line) => this.log.warn(line));
    if (this.#config.pm === "ondemand") {
      await this.#acceptInMaster();
      this.#announce();
    }
    for (let i = initialWorkers(pmSettings(this.#config)); i > 0; i--) this.#spawn();
    this.#maintenance = setInterval(() => this.#maintain(), 1000);
  }

  #announce(): void {
    if (this.#announced || !this.#listeners) return;
    this.#announced = true;
    for (const line of describeListeners(this.#listeners)) this.log.info(line);
    this.log.flush();
  }

  /** Ondemand: the master takes connections and hands each to a worker, starting one when all are busy. */
  async #acceptInMaster(): Promise<void> {
    const listeners = this.#listeners!;
    const add = async (which: "fastcgi" | "http", handle: Listeners["fastcgi"]["handle"]) => {
      const server = createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#route(which, socket));
      await listenOnHandle(server, handle, this.#config.listen_backlog);
      this.#acceptors.push(server);
    };
    await add("fastcgi", listeners.fastcgi.handle);
    if (listeners.http) await add("http", listeners.http.handle);
  }

  #route(which: "fastcgi" | "http", socket: Socket): void {
    const live = this.#current();
    const route = routeConnection(pmSettings(this.#config), live.map(loadOf));
    if (route.maxChildrenReached) this.counters.maxChildrenReached++;
    const worker = route.to === "spawn" ? this.#spawn() : this.#workers.get(route.to);
    if (!worker?.send({ type: "conn", which }, socket)) return void socket.destroy();
    // Counted busy until its next load report says otherwise.
    worker.inflight++;
  }

  /** Workers serving now and staying: neither finishing nor waiting for their replacement. */
  #current(): WorkerProcess[] {
    return this.workers.filter((w) => w.state !== "finishing" && !w.retiring);
  }

  /** The lowest slot no current worker holds and no restart waits for. */
  #freeSlot(): number {
    const taken = new Set(this.#current().map((w) => w.slot));
    let slot = 0;
    while (taken.has(slot) || this.#respawns.isWaiting(slot)) slot++;
    return slot;
  }

  #spawn(slot = this.#freeSlot()): WorkerProcess {
    const id = this.#nextId++;
    const worker = new WorkerProcess(id, slot, this.#generation, this.#config, this.#config.pm === "ondemand", {
      message: (w, m, handle) => this.#onMessage(w, m, handle),
      report: (w, r) => this.#onReport(w, r),
      exit: (w, code, signal) => this.#onExit(w, code, signal),
    });
    this.#workers.set(id, worker);
    this.log.debug(`worker ${worker.pid} started (generation ${worker.generation})`);
    if (this.#listeners && this.#config.pm !== "ondemand") {
      worker.send({ type: "listen", which: "fastcgi" }, this.#listeners.fastcgi.handle);
      if (this.#listeners.http) worker.send({ type: "listen", which: "http" }, this.#listeners.http.handle);
    }
    return worker;
  }

  #onMessage(worker: WorkerProcess, m: FromWorker, handle: PassedHandle | undefined): void {
    switch (m.type) {
      case "ready":
        worker.state = worker.state === "starting" ? "ready" : worker.state;
        this.#announce();
        this.#onReady(worker);
        break;
      case "handoff":
        // A raw libuv handle (see worker-main's handOff), like the listening ones.
        if (handle) this.#placeHandoff(handle as ListenHandle, m.unread, worker.slot);
        worker.handedOver++;
        break;
      case "load":
        this.counters.requests(worker.id, m.requests);
        if (m.inflight === 0 && worker.inflight > 0) worker.idleSince = Date.now();
        worker.inflight = m.inflight;
        worker.requests = m.requests;
        this.counters.active(this.workers.filter((w) => w.inflight > 0).length);
        break;
      case "retire":
        this.#retire(worker, m.reason);
        break;
      case "report":
        this.#reports.answer(m.id, m.report);
        break;
      case "status":
        void this.#status(m.query, m.accept).then((r) => worker.send({ type: "status", id: m.id, ...r }));
        break;
      case "compile":
        void this.#compiled.compile(m.file, m.source, m.options).then((code) => worker.send({ type: "compiled", id: m.id, code }));
        break;
      case "fault":
        this.faults.reported(m.script, m.kind);
        break;
    }
  }

  /**
   * Recycling: a replacement starts in the worker's slot first; the old worker keeps serving until
   * the replacement is ready, then finishes its requests and hands its idle connections to it.
   */
  #retire(worker: WorkerProcess, reason: string): void {
    if (worker.state === "finishing" || worker.retiring || this.#stopping) return;
    this.log.info(`worker ${worker.pid} recycled: ${reason}`);
    worker.retireReason = reason;
    this.counters.restarts++;
    if (this.#config.pm !== "static") return worker.stop(reason, true);
    worker.retiring = true;
    this.#spawn(worker.slot);
  }

  /** A worker serves: retiring workers it replaces finish now, connections waiting for it are placed. */
  #onReady(worker: WorkerProcess): void {
    for (const old of this.workers) {
      if (old.retiring && old.slot === worker.slot && old !== worker) old.stop(old.retireReason ?? "recycled", true);
    }
    for (const wake of [...this.#readyWaiters]) wake();
    this.#placeWaiting();
  }

  /**
   * A retiring worker's idle connection: it goes to another worker instead of being closed, since
   * closing a kept-alive connection races the web server's next request on it (nginx answers 502
   * to a POST it had started writing). Nobody has read from it since its last request ended, so
   * the next request is still in the socket (or in `unread`).
   */
  #placeHandoff(handle: ListenHandle, unread: Uint8Array | null, slot: number): void {
    if (this.#stopping) return void handle.close();
    const takers = this.workers
      .filter((w) => w.state !== "finishing")
      .map((w) => ({ id: w.id, slot: w.slot, ready: w.state === "ready", retiring: w.retiring, adopted: w.adopted }));
    const to = adopterFor(slot, takers);
    if (to === "wait") return void this.#handoffs.push({ handle, unread, slot });
    const worker = to === "close" ? undefined : this.#workers.get(to);
    // The handle goes out with the message; the master's own copy of the fd is closed after that.
    const close = () => handle.close();
    if (!worker?.send({ type: "conn", which: "fastcgi", unread }, handle, close)) return close();
    worker.adopted++;
  }

  #placeWaiting(): void {
    for (const { handle, unread, slot } of this.#handoffs.splice(0)) this.#placeHandoff(handle, unread, slot);
  }

  #onReport(worker: WorkerProcess, report: WatchdogReport): void {
    if (report.type === "slow") {
      this.counters.slow++;
      this.#slowSink.line(slowlogEntryFor(worker.pid, report));
    } else if (report.type === "stuck") {
      this.log.error(describeStuck(worker.pid, report, this.#config.request_timeout));
      this.log.flush();
    }
  }

  #onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(worker.id);
    this.counters.forget(worker.id);
    const expected = worker.state === "finishing";
    if (!expected) {
      this.counters.restarts++;
      if (worker.lastWords?.type !== "stuck") this.log.error(describeExit(worker.pid, code, signal, worker.lastWords));
      this.faults.died(worker.lastWords);
      if (!this.#stopping) this.#crashed(worker);
    } else {
      const handed = worker.handedOver > 0 ? `, ${worker.handedOver} idle connection(s) handed over` : "";
      // As PHP-FPM notes each child that exits: with what made it go, and its connections' fate.
      if (!this.#stopping) this.log.info(`worker ${worker.pid} finished (${worker.retireReason ?? "stopped"})${handed}`);
    }
    this.log.flush();
    for (const wake of [...this.#readyWaiters]) wake();
    // A connection waiting for this worker to start goes elsewhere now (or is closed).
    this.#placeWaiting();
    if (this.#stopping && this.#workers.size === 0) this.#finish();
  }

  /**
   * A crash costs its own slot a wait (doubling while it keeps crashing); the other slots go on
   * serving. A slot is restarted at once when the pool is below its floor of live workers and the
   * dead worker had been serving.
   */
  #crashed(worker: WorkerProcess): void {
    if (worker.retiring) return; // its replacement is on its way already
    if (this.#config.pm === "ondemand") return this.#maintain();
    const live = this.#current().length;
    const urgent = worker.state === "ready" && live < liveFloor(this.#config.workers);
    const delay = this.#respawns.crashed(worker.slot, Date.now() - worker.startedAt, urgent);
    if (delay > 0) {
      this.log.warn(
        `worker slot ${worker.slot} keeps crashing (${this.#respawns.crashes(worker.slot)} in a row): next start in ${delay} ms ` +
          `(respawn_backoff_max ${this.#config.respawn_backoff_max} ms); ${live} other worker(s) serving`,
      );
    }
  }

  #respawnDue(slot: number): void {
    if (this.#stopping) return;
    if (this.#config.pm === "static") {
      if (this.#current().length < this.#config.workers && !this.#current().some((w) => w.slot === slot)) this.#spawn(slot);
      return;
    }
    this.#maintain();
  }

  #maintain(): void {
    if (this.#stopping) return;
    const current = this.#current().filter((w) => w.generation === this.#generation);
    for (const w of current) {
      if (w.state === "ready" && Date.now() - w.startedAt > HEALTHY_LIFETIME) this.#respawns.healthy(w.slot);
    }
    if (this.#listeners) this.counters.queue(listenQueue(this.#listeners.fastcgi.handle.fd));
    // Slots waiting out a crash back-off count as workers on their way.
    const waiting: WorkerLoad[] = [];
    for (let i = 0; i < this.#respawns.waiting; i++) waiting.push({ id: -1 - i, starting: true, inflight: 0, idleSince: Date.now() });
    const decision = maintain(pmSettings(this.#config), [...current.map(loadOf), ...waiting], Date.now(), this.#spawnRate);
    this.#spawnRate = decision.nextSpawnRate;
    if (decision.maxChildrenReached) this.counters.maxChildrenReached++;
    for (let i = 0; i < decision.spawn; i++) this.#spawn();
    for (const id of decision.retire) this.#workers.get(id)?.stop("idle", true);
  }

  /** Resolves once none of `workers` is still starting (ready or gone), or after READY_TIMEOUT. */
  #whenReady(workers: WorkerProcess[]): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (workers.some((w) => w.state === "starting" && !w.exited)) return;
        done();
      };
      const done = () => {
        clearTimeout(timer);
        this.#readyWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(done, READY_TIMEOUT);
      this.#readyWaiters.add(check);
      check();
    });
  }

  /** SIGHUP / SIGUSR2: the new config's workers start, then the old ones finish their requests. */
  async reload(config: Config): Promise<void> {
    if (this.#stopping) return;
    if ((config.pm === "ondemand") !== (this.#config.pm === "ondemand")) {
      // Who accepts (the master, or every worker) is decided when the sockets are set up.
      this.log.error(`reload: pm cannot change from ${this.#config.pm} to ${config.pm} without a restart; keeping pm = ${this.#config.pm}`);
      config = { ...config, pm: this.#config.pm };
    }
    const old = this.workers;
    const previous = this.#listeners!;
    const moved = config.listen !== this.#config.listen || config.http !== this.#config.http;
    // A socket handed to tscgi (systemd, fd 0) cannot be handed back: the listeners stay as they are.
    const rebind = moved && previous.fastcgi.from === undefined;
    if (moved && !rebind) {
      this.log.warn(`reload: listen and http stay as they are while tscgi serves a handed-over socket (${previous.fastcgi.from})`);
    }
    if (config.error_log !== this.#config.error_log) {
      this.#errorSink.close();
      this.#errorSink = new LogSink(config.error_log);
    }
    if (config.slowlog !== this.#config.slowlog) {
      this.#slowSink.close();
      this.#slowSink = new LogSink(config.slowlog);
    }
    this.#respawns.clear();
    this.#respawns = new Respawns(config.respawn_backoff_max, (slot) => this.#respawnDue(slot));
    const before = this.#config;
    this.#config = config;
    this.log = new Logger(this.#errorSink, config.log_level);
    if (StatusListener.changed(before, config)) await this.#restartStatusListener();
    if (rebind) {
      this.#listeners = await bindListeners(config);
      for (const line of describeListeners(this.#listeners)) this.log.info(line);
    }
    this.#generation++;
    // The old workers keep serving until the new ones are ready; their slots go to the new ones.
    for (const w of old) {
      w.retiring = true;
      w.retireReason ??= "reload";
    }
    const fresh: WorkerProcess[] = [];
    for (let i = initialWorkers(pmSettings(config)); i > 0; i--) fresh.push(this.#spawn());
    await this.#whenReady(fresh);
    for (const w of old) w.stop("reload", true);
    if (rebind) {
      for (const server of this.#acceptors.splice(0)) server.close();
      if (config.pm === "ondemand") await this.#acceptInMaster();
      // Old workers keep their own copies until they finish; the master lets go of its own now.
      previous.fastcgi.close();
      previous.http?.close();
    }
    this.log.info(`reloaded: generation ${this.#generation}, ${fresh.length} worker(s) started, ${old.length} finishing`);
  }

  reopenLogs(): void {
    this.#errorSink.reopen();
    this.#slowSink.reopen();
    for (const w of this.workers) w.send({ type: "reopen" });
  }

  /** SIGTERM / SIGINT / SIGQUIT: workers stop accepting and finish in-flight requests, then exit. */
  stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      if (this.#maintenance) clearInterval(this.#maintenance);
      this.#respawns.clear();
      for (const server of this.#acceptors) server.close();
      for (const w of this.workers) w.stop("shutdown", false);
      for (const { handle } of this.#handoffs.splice(0)) handle.close();
      // New connections are refused from now on (a web server then tries elsewhere or answers
      // 502 at once) instead of waiting in a backlog nobody will take them from.
      this.#closeListeners();
      // Workers give up at shutdown_timeout; this only catches one that cannot.
      const limit = (this.#config.shutdown_timeout || 2 ** 30) + 5000;
      setTimeout(() => this.kill(), Math.min(limit, 2 ** 31 - 1)).unref();
      if (this.#workers.size === 0) this.#finish();
    }
    return this.done;
  }

  kill(): void {
    for (const w of this.workers) w.kill();
    this.#finish();
  }

  #closeListeners(): void {
    this.#listeners?.fastcgi.close();
    this.#listeners?.http?.close();
    this.#listeners = null;
  }

  #finish(): void {
    this.#closeListeners();
    this.#statusListener?.close();
    this.log.info("stopped");
    this.log.flush();
    this.#slowSink.close();
    this.#exited();
  }

  async #restartStatusListener(): Promise<void> {
    this.#statusListener?.close();
    this.#statusListener = null;
    try {
      this.#statusListener = await StatusListener.start(this.#config, this.log, this.#statusSources);
    } catch (error) {
      this.log.error(`reload: status_listen: ${(error as Error).message}; status and ping are answered on listen only`);
    }
  }

  /** May new requests be sent here now (status_listen's ping_path?ready)? */
  readiness(): Readiness {
    return readiness({
      stopping: this.#stopping,
      // Workers being replaced serve until their replacements are ready: a reload stays ready.
      workers: this.workers.filter((w) => w.state !== "finishing").map((w) => ({ ready: w.state === "ready", inflight: w.inflight })),
      maxWorkers: this.#config.workers,
      maxInflight: this.#config.max_inflight,
      onDemand: this.#config.pm === "ondemand",
      listenQueue: this.#listeners ? listenQueue(this.#listeners.fastcgi.handle.fd) : 0,
    });
  }

  async #status(query: string, accept: string): Promise<{ ok: boolean; body: string; contentType: string }> {
    const reports = await this.#reports.collect(this.workers);
    for (const { worker, report } of reports) if (report) this.counters.requests(worker.id, report.requests);
    const queue = this.#listeners ? listenQueue(this.#listeners.fastcgi.handle.fd) : 0;
    this.counters.queue(queue);
    return renderPoolStatus(this.#config, this.counters, reports, queue, query, accept, this.faults.list());
  }
}

function loadOf(w: WorkerProcess): WorkerLoad {
  return { id: w.id, starting: w.state === "starting", inflight: w.inflight, idleSince: w.idleSince };
}
