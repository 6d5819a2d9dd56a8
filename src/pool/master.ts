// The master: owns the listening sockets, starts and supervises the workers (pm static, dynamic,
// ondemand), recycles them, replaces them on reload, restarts them with back-off after crashes.
import type { StreamHandle } from "../node-internals.ts";
import type { Config } from "../config/types.ts";
import { describeListeners } from "../server/address.ts";
import type { ListenHandle } from "../server/bind.ts";
import type { Logger } from "../server/log.ts";
import { CompileCache } from "./compile-cache.ts";
import { describeExit, describeStuck } from "./exit-report.ts";
import { MasterLogs } from "./master-logs.ts";
import { PoolFaults } from "./pool-faults.ts";
import { PoolSockets } from "./pool-sockets.ts";
import { ConnectionHandoffs } from "./handoffs.ts";
import { askToShed } from "./connection-balance.ts";
import { initialWorkers, maintain, pmSettings, routeConnection, type WorkerLoad } from "./pm.ts";
import type { FromWorker, WatchdogReport } from "./protocol.ts";
import { PoolCounters, renderPoolStatus, ReportCollector } from "./status-collect.ts";
import { slowlogEntryFor } from "./slow-report.ts";
import { HEALTHY_LIFETIME } from "./backoff.ts";
import { liveFloor, Respawns } from "./respawn.ts";
import { readiness, type Readiness } from "./readiness.ts";
import { ReadyWaiters } from "./ready-waiters.ts";
import { StatusListener } from "./status-listener.ts";
import { WorkerProcess, type PassedHandle } from "./worker-process.ts";
import { resolverOptions, warnRouteConflicts } from "../scripts/routes.ts";

export class Master {
  #config: Config;
  readonly #sockets = new PoolSockets();
  readonly #workers = new Map<number, WorkerProcess>();
  #nextId = 1;
  #generation = 1;
  #spawnRate = 1;
  #maintenance: NodeJS.Timeout | null = null;
  #respawns: Respawns;
  readonly #handoffs = new ConnectionHandoffs(this.#workers);
  readonly #readyWaiters = new ReadyWaiters();
  #stopping = false;
  #finished = false;
  readonly #logs: MasterLogs;
  readonly counters = new PoolCounters();
  readonly faults = new PoolFaults((line) => this.log.error(line));
  readonly #compiled = new CompileCache();
  readonly #reports = new ReportCollector();
  #statusListener: StatusListener | null = null;
  readonly #statusSources = { status: (q: string, a: string) => this.#status(q, a), readiness: () => this.readiness() };
  #exited: () => void = () => {};
  /** The status the process should exit with once `done`: 1 after a fault that stopped the pool. */
  exitCode = 0;
  readonly done = new Promise<void>((resolve) => (this.#exited = resolve));

  constructor(config: Config) {
    this.#config = config;
    this.#respawns = new Respawns(config.respawn_backoff_max, (slot) => this.#respawnDue(slot));
    this.#logs = new MasterLogs(config);
  }

  get log(): Logger {
    return this.#logs.log;
  }

  get config(): Config {
    return this.#config;
  }

  get workers(): WorkerProcess[] {
    return [...this.#workers.values()];
  }

  async start(): Promise<void> {
    await this.#sockets.bind(this.#config);
    this.#statusListener = await StatusListener.start(this.#config, this.log, this.#statusSources);
    this.log.info(`master ${process.pid}: pm ${this.#config.pm}, ${this.#config.workers} max workers, serving ${this.#config.root}`);
    warnRouteConflicts(resolverOptions(this.#config), (line) => this.log.warn(line));
    if (this.#config.pm === "ondemand") {
      await this.#acceptInMaster();
      this.#sockets.announce(this.log);
    }
    for (let i = initialWorkers(pmSettings(this.#config)); i > 0; i--) this.#spawn();
    this.#maintenance = setInterval(() => this.#maintain(), 1000);
  }

  /** Ondemand: the master takes connections and hands each to a worker, starting one when all are busy. */
  #acceptInMaster(): Promise<void> {
    return this.#sockets.acceptInMaster(this.#config.listen_backlog, (which, handle) => this.#route(which, handle), this.log);
  }

  #route(which: "fastcgi" | "http", handle: StreamHandle): void {
    const live = this.#current();
    const route = routeConnection(
      pmSettings(this.#config),
      live.map((w) => w.load()),
    );
    if (route.maxChildrenReached) this.counters.maxChildrenReached++;
    const worker = route.to === "spawn" ? this.#spawn() : this.#workers.get(route.to);
    // Our copy of the descriptor is closed once the worker has its own.
    const close = (): void => handle.close();
    if (!worker?.send({ type: "conn", which }, handle, close)) return close();
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
    if (this.#config.pm !== "ondemand") this.#sockets.passTo(worker);
    return worker;
  }

  #onMessage(worker: WorkerProcess, m: FromWorker, handle: PassedHandle | undefined): void {
    switch (m.type) {
      case "ready":
        worker.state = worker.state === "starting" ? "ready" : worker.state;
        this.#sockets.announce(this.log);
        this.#onReady(worker);
        break;
      case "handoff":
        // A raw libuv handle (see worker-main's handOff), like the listening ones.
        this.#handoffs.received(worker, handle as ListenHandle | undefined, m.unread, m.shed === true);
        break;
      case "load":
        this.counters.requests(worker.id, m.requests);
        if (m.inflight === 0 && worker.inflight > 0) worker.idleSince = Date.now();
        worker.inflight = m.inflight;
        worker.requests = m.requests;
        worker.connections = m.connections;
        this.counters.active(this.workers.filter((w) => w.inflight > 0).length);
        this.#balance();
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
    this.#readyWaiters.wake();
    this.#handoffs.placeWaiting();
  }

  #onReport(worker: WorkerProcess, report: WatchdogReport): void {
    if (report.type === "slow") {
      this.counters.slow++;
      this.#logs.slow(slowlogEntryFor(worker.pid, report));
    } else if (report.type === "stuck") {
      this.log.error(describeStuck(worker.pid, report, this.#config.request_timeout));
      this.log.flush();
    }
  }

  #onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(worker.id);
    this.counters.forget(worker.id);
    const expected = worker.state === "finishing";
    const cannotListen = worker.lastWords?.type === "exiting" ? worker.lastWords.cannotListen : undefined;
    if (cannotListen !== undefined) {
      this.#fail(cannotListen);
    } else if (!expected) {
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
    this.#readyWaiters.wake();
    // A connection waiting for this worker to start goes elsewhere now (or is closed).
    this.#handoffs.placeWaiting();
    if (this.#stopping && this.#workers.size === 0) this.#finish();
  }

  /** Evens out the connections a web server keeps open (see connection-balance.ts). */
  #balance(): void {
    if (this.#stopping || this.#config.pm === "ondemand") return;
    for (const ask of askToShed(this.#current(), Date.now())) {
      this.log.debug(
        `worker ${ask.worker.pid} holds ${ask.worker.connections} FastCGI connections, ${ask.count} over the mean: asked to hand them to the others`,
      );
    }
  }

  /** A fault no new worker could get past: logged once, and the pool stops with exit status 1. */
  #fail(message: string): void {
    if (this.#stopping) return;
    this.log.error(`${message}; stopping, as every worker would fail the same way`);
    this.exitCode = 1;
    void this.stop();
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
    const queue = this.#sockets.queue();
    if (queue !== null) this.counters.queue(queue);
    // Slots waiting out a crash back-off count as workers on their way.
    const waiting: WorkerLoad[] = [];
    for (let i = 0; i < this.#respawns.waiting; i++) waiting.push({ id: -1 - i, starting: true, inflight: 0, idleSince: Date.now() });
    const decision = maintain(pmSettings(this.#config), [...current.map((w) => w.load()), ...waiting], Date.now(), this.#spawnRate);
    this.#spawnRate = decision.nextSpawnRate;
    if (decision.maxChildrenReached) this.counters.maxChildrenReached++;
    for (let i = 0; i < decision.spawn; i++) this.#spawn();
    for (const id of decision.retire) this.#workers.get(id)?.stop("idle", true);
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
    const previous = this.#sockets.listeners!;
    const moved = config.listen !== this.#config.listen || config.http !== this.#config.http;
    // A socket handed to tscgi (systemd, fd 0) cannot be handed back: the listeners stay as they are.
    const rebind = moved && previous.fastcgi.from === undefined;
    if (moved && !rebind) {
      this.log.warn(`reload: listen and http stay as they are while tscgi serves a handed-over socket (${previous.fastcgi.from})`);
    }
    this.#logs.reconfigure(this.#config, config);
    this.#respawns.clear();
    this.#respawns = new Respawns(config.respawn_backoff_max, (slot) => this.#respawnDue(slot));
    const before = this.#config;
    this.#config = config;
    if (StatusListener.changed(before, config)) {
      const running = this.#statusListener;
      // Not closed twice by a stop while the new one binds.
      this.#statusListener = null;
      this.#statusListener = await StatusListener.restart(running, config, this.log, this.#statusSources);
    }
    if (rebind) {
      for (const line of describeListeners(await this.#sockets.bind(config))) this.log.info(line);
    }
    this.#generation++;
    // The old workers keep serving until the new ones are ready; their slots go to the new ones.
    for (const w of old) {
      w.retiring = true;
      w.retireReason ??= "reload";
    }
    const fresh: WorkerProcess[] = [];
    for (let i = initialWorkers(pmSettings(config)); i > 0; i--) fresh.push(this.#spawn());
    await this.#readyWaiters.whenReady(fresh);
    for (const w of old) w.stop("reload", true);
    if (rebind) {
      this.#sockets.closeAcceptors();
      if (config.pm === "ondemand") await this.#acceptInMaster();
      // Old workers keep their own copies until they finish; the master lets go of its own now.
      previous.fastcgi.close();
      previous.http?.close();
    }
    this.log.info(`reloaded: generation ${this.#generation}, ${fresh.length} worker(s) started, ${old.length} finishing`);
  }

  reopenLogs(): void {
    this.#logs.reopen();
    for (const w of this.workers) w.send({ type: "reopen" });
  }

  /** SIGTERM / SIGINT / SIGQUIT: workers stop accepting and finish in-flight requests, then exit. */
  stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      if (this.#maintenance) clearInterval(this.#maintenance);
      this.#respawns.clear();
      this.#sockets.closeAcceptors();
      for (const w of this.workers) w.stop("shutdown", false);
      this.#handoffs.close();
      // New connections are refused from now on (a web server then tries elsewhere or answers
      // 502 at once) instead of waiting in a backlog nobody will take them from.
      this.#sockets.close();
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

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#sockets.close();
    this.#statusListener?.close();
    this.log.info("stopped");
    this.log.flush();
    this.#logs.closeSlowLog();
    this.#exited();
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
      listenQueue: this.#sockets.queue() ?? 0,
    });
  }

  async #status(query: string, accept: string): Promise<{ ok: boolean; body: string; contentType: string }> {
    const reports = await this.#reports.collect(this.workers);
    for (const { worker, report } of reports) if (report) this.counters.requests(worker.id, report.requests);
    const queue = this.#sockets.queue() ?? 0;
    this.counters.queue(queue);
    return renderPoolStatus(this.#config, this.counters, reports, queue, query, accept, this.faults.list());
  }
}
