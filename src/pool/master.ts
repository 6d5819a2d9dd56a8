// The master: owns the listening sockets, starts and supervises the workers (pm static, dynamic,
// ondemand), recycles them, replaces them on reload, restarts them with back-off after crashes.
import { createServer, type Server, type Socket } from "node:net";
import type { Config } from "../config/index.ts";
import { formatAddress } from "../server/address.ts";
import { listenOnHandle } from "../server/bind.ts";
import { LogSink, Logger } from "../server/log.ts";
import { bindListeners, type Listeners } from "../server/serve.ts";
import { Backoff } from "./backoff.ts";
import { CompileCache } from "./compile-cache.ts";
import { describeExit, describeStuck } from "./exit-report.ts";
import { listenQueue } from "./listen-queue.ts";
import { PoolFaults } from "./pool-faults.ts";
import { initialWorkers, maintain, routeConnection, type PmSettings, type WorkerLoad } from "./pm.ts";
import type { FromWorker, WatchdogReport } from "./protocol.ts";
import { PoolCounters, renderPoolStatus, ReportCollector } from "./status-collect.ts";
import { formatSlowlogEntry } from "../server/slowlog.ts";
import { WorkerProcess } from "./worker-process.ts";

/** How long a new generation may take to become ready before the old one is stopped anyway. */
const READY_TIMEOUT = 10_000;

export function pmSettings(c: Config): PmSettings {
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
  #respawnTimer: NodeJS.Timeout | null = null;
  #maintenance: NodeJS.Timeout | null = null;
  #backoff: Backoff;
  #stopping = false;
  #errorSink: LogSink;
  #slowSink: LogSink;
  log: Logger;
  readonly counters = new PoolCounters();
  readonly faults = new PoolFaults((line) => this.log.error(line));
  readonly #compiled = new CompileCache();
  readonly #reports = new ReportCollector();
  #announced = false;
  #exited: () => void = () => {};
  readonly done = new Promise<void>((resolve) => (this.#exited = resolve));

  constructor(config: Config) {
    this.#config = config;
    this.#backoff = new Backoff(config.respawn_backoff_max);
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
    this.log.info(`master ${process.pid}: pm ${this.#config.pm}, ${this.#config.workers} max workers, serving ${this.#config.root}`);
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
    this.log.info(`listening on fastcgi ${formatAddress(this.#listeners.fastcgi.address)}`);
    if (this.#listeners.http) this.log.info(`listening on http ${formatAddress(this.#listeners.http.address)}`);
    this.log.flush();
  }

  /** Ondemand: the master takes connections and hands each to a worker, starting one when all are busy. */
  async #acceptInMaster(): Promise<void> {
    const listeners = this.#listeners!;
    const add = async (which: "fastcgi" | "http", handle: Listeners["fastcgi"]["handle"]) => {
      const server = createServer({ pauseOnConnect: true }, (socket) => this.#route(which, socket));
      await listenOnHandle(server, handle, this.#config.listen_backlog);
      this.#acceptors.push(server);
    };
    await add("fastcgi", listeners.fastcgi.handle);
    if (listeners.http) await add("http", listeners.http.handle);
  }

  #route(which: "fastcgi" | "http", socket: Socket): void {
    const live = this.workers.filter((w) => w.state !== "finishing");
    const route = routeConnection(pmSettings(this.#config), live.map(loadOf));
    if (route.maxChildrenReached) this.counters.maxChildrenReached++;
    const worker = route.to === "spawn" ? this.#spawn() : this.#workers.get(route.to);
    if (!worker?.send({ t: "conn", which }, socket)) return void socket.destroy();
    // Counted busy until its next load report says otherwise.
    worker.inflight++;
  }

  #spawn(): WorkerProcess {
    const id = this.#nextId++;
    const worker = new WorkerProcess(id, this.#generation, this.#config, this.#config.pm === "ondemand", {
      message: (w, m) => this.#onMessage(w, m),
      report: (w, r) => this.#onReport(w, r),
      exit: (w, code, signal) => this.#onExit(w, code, signal),
    });
    this.#workers.set(id, worker);
    this.log.debug(`worker ${worker.pid} started (generation ${worker.generation})`);
    if (this.#listeners && this.#config.pm !== "ondemand") {
      worker.send({ t: "listen", which: "fastcgi" }, this.#listeners.fastcgi.handle);
      if (this.#listeners.http) worker.send({ t: "listen", which: "http" }, this.#listeners.http.handle);
    }
    return worker;
  }

  #onMessage(worker: WorkerProcess, m: FromWorker): void {
    switch (m.t) {
      case "ready":
        worker.state = worker.state === "starting" ? "ready" : worker.state;
        this.#announce();
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
        void this.#status(m.query, m.accept).then((r) => worker.send({ t: "status", id: m.id, ...r }));
        break;
      case "compile":
        void this.#compiled.compile(m.file, m.source, m.options).then((code) => worker.send({ t: "compiled", id: m.id, code }));
        break;
      case "fault":
        this.faults.reported(m.script, m.kind);
        break;
    }
  }

  /** Recycling: a replacement starts first, the old worker stops once it is ready. */
  #retire(worker: WorkerProcess, reason: string): void {
    if (worker.state === "finishing" || this.#stopping) return;
    this.log.info(`worker ${worker.pid} recycled: ${reason}`);
    worker.retireReason = reason;
    this.counters.restarts++;
    // It stops taking work now; until the replacement listens, connections wait in the socket's
    // backlog (or go to the other workers), they are not refused.
    worker.stop(reason);
    if (this.#config.pm === "static") this.#spawn();
  }

  #onReport(worker: WorkerProcess, report: WatchdogReport): void {
    if (report.t === "slow") {
      this.counters.slow++;
      this.#slowSink.line(
        formatSlowlogEntry({
          time: new Date(),
          pid: worker.pid,
          script: report.script,
          uri: report.uri,
          method: report.method,
          elapsedMs: report.elapsed,
          stack: report.stack,
        }),
      );
    } else if (report.t === "stuck") {
      this.log.error(describeStuck(worker.pid, report, this.#config.request_timeout));
      this.log.flush();
    }
  }

  #onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.#workers.delete(worker.id);
    this.counters.forget(worker.id);
    const expected = worker.state === "finishing";
    if (!expected) {
      const lifetime = Date.now() - worker.startedAt;
      this.counters.restarts++;
      if (worker.lastWords?.t !== "stuck") this.log.error(describeExit(worker.pid, code, signal, worker.lastWords));
      this.faults.died(worker.lastWords);
      const delay = this.#backoff.crash(lifetime);
      if (!this.#stopping) this.#respawnAfter(delay);
    } else {
      this.log.debug(`worker ${worker.pid} finished (${worker.retireReason ?? "stopped"})`);
    }
    this.log.flush();
    if (this.#stopping && this.#workers.size === 0) this.#finish();
  }

  #respawnAfter(delay: number): void {
    if (delay > 0)
      this.log.warn(`workers keep crashing: next start in ${delay} ms (respawn_backoff_max ${this.#config.respawn_backoff_max} ms)`);
    if (this.#respawnTimer) return;
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = null;
      this.#maintain();
    }, delay);
  }

  #maintain(): void {
    if (this.#stopping) return;
    const current = this.workers.filter((w) => w.state !== "finishing" && w.generation === this.#generation);
    for (const w of current) {
      if (w.state === "ready" && Date.now() - w.startedAt > 10_000) this.#backoff.healthy();
    }
    if (this.#listeners) this.counters.queue(listenQueue(this.#listeners.fastcgi.handle.fd));
    if (this.#respawnTimer) return;
    const decision = maintain(pmSettings(this.#config), current.map(loadOf), Date.now(), this.#spawnRate);
    this.#spawnRate = decision.nextSpawnRate;
    if (decision.maxChildrenReached) this.counters.maxChildrenReached++;
    for (let i = 0; i < decision.spawn; i++) this.#spawn();
    for (const id of decision.retire) this.#workers.get(id)?.stop("idle");
  }

  #whenReady(workers: WorkerProcess[]): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const pending = workers.filter((w) => w.state === "starting" && !w.exited);
        if (pending.length === 0 || Date.now() - started > READY_TIMEOUT) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
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
    const rebind = config.listen !== this.#config.listen || config.http !== this.#config.http;
    if (config.error_log !== this.#config.error_log) {
      this.#errorSink.close();
      this.#errorSink = new LogSink(config.error_log);
    }
    if (config.slowlog !== this.#config.slowlog) {
      this.#slowSink.close();
      this.#slowSink = new LogSink(config.slowlog);
    }
    this.#backoff = new Backoff(config.respawn_backoff_max);
    this.#config = config;
    this.log = new Logger(this.#errorSink, config.log_level);
    if (rebind) {
      this.#listeners = await bindListeners(config);
      this.log.info(`listening on fastcgi ${formatAddress(this.#listeners.fastcgi.address)}`);
    }
    this.#generation++;
    const fresh: WorkerProcess[] = [];
    for (let i = initialWorkers(pmSettings(config)); i > 0; i--) fresh.push(this.#spawn());
    await this.#whenReady(fresh);
    for (const w of old) w.stop("reload");
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
    for (const w of this.workers) w.send({ t: "reopen" });
  }

  /** SIGTERM / SIGINT / SIGQUIT: workers stop accepting and finish in-flight requests, then exit. */
  stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      if (this.#maintenance) clearInterval(this.#maintenance);
      if (this.#respawnTimer) clearTimeout(this.#respawnTimer);
      for (const server of this.#acceptors) server.close();
      for (const w of this.workers) w.stop("shutdown");
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
    this.log.info("stopped");
    this.log.flush();
    this.#slowSink.close();
    this.#exited();
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
