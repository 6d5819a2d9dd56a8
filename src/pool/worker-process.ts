// The master's view of one worker process: the child, its state, its last load and what it said
// on the report pipe before it died.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/types.ts";
import type { ListenHandle } from "../server/bind.ts";
import type { WorkerLoad } from "./pm.ts";
import type { StreamHandle } from "../node-internals.ts";
import { scriptEnv } from "./script-env.ts";
import { workerExecArgv, workerMemoryEnv } from "./worker-memory.ts";
import { REPORT_FD, type FromWorker, type ToWorker, type WatchdogReport, type WorkerReport } from "./protocol.ts";

export type WorkerState = "starting" | "ready" | "finishing";

/** What a connection or listening socket travels as between processes. */
export type PassedHandle = ListenHandle | Socket | StreamHandle;

export interface WorkerEvents {
  message(worker: WorkerProcess, message: FromWorker, handle: PassedHandle | undefined): void;
  report(worker: WorkerProcess, report: WatchdogReport): void;
  exit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
}

function workerFile(): string {
  const file = fileURLToPath(new URL("./worker.js", import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing; run npm run build`);
  return file;
}

export class WorkerProcess {
  readonly id: number;
  /** Its place in the pool: a replacement takes the slot of the worker it replaces (see respawn.ts). */
  readonly slot: number;
  readonly generation: number;
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  state: WorkerState = "starting";
  /** Recycled: still serving until the worker replacing it is ready, then it finishes. */
  retiring = false;
  /** Connections handed to it by retiring workers. */
  adopted = 0;
  /** Connections it handed on while finishing. */
  handedOver = 0;
  inflight = 0;
  requests = 0;
  /** FastCGI connections it holds, from its load reports (and the shed ones sent to it since). */
  connections = 0;
  /** Date.now() when it was last asked to shed connections (see Master.#balance). */
  shedAskedAt = 0;
  idleSince = Date.now();
  /** Why it is being replaced, when it is. */
  retireReason: string | null = null;
  /** Its last words on the report pipe (stuck, exiting), for the exit log line. */
  lastWords: WatchdogReport | null = null;
  lastReport: WorkerReport | null = null;
  exited = false;
  #pipeText = "";

  constructor(id: number, slot: number, generation: number, config: Config, ondemand: boolean, events: WorkerEvents) {
    this.id = id;
    this.slot = slot;
    this.generation = generation;
    const env = workerMemoryEnv(config, scriptEnv(config, process.env), process.env);
    this.child = fork(workerFile(), [], {
      execArgv: workerExecArgv(config, process.execArgv, env.NODE_OPTIONS),
      serialization: "advanced",
      // stdout/stderr shared with the master (lines stay whole: each write is one line batch);
      // fd 4 is the report pipe the watchdog thread writes to.
      stdio: ["ignore", "inherit", "inherit", "ipc", "pipe"],
      env,
    });
    this.child.on("message", (message: FromWorker, handle?: PassedHandle) => events.message(this, message, handle));
    this.child.on("error", () => {
      // A failed send to a dying child: its exit event follows.
    });
    this.child.once("exit", (code, signal) => {
      this.exited = true;
      events.exit(this, code, signal);
    });
    const pipe = this.child.stdio[REPORT_FD];
    pipe?.on("data", (chunk: Buffer) => {
      this.#pipeText += chunk.toString("utf8");
      let nl: number;
      while ((nl = this.#pipeText.indexOf("\n")) !== -1) {
        const line = this.#pipeText.slice(0, nl);
        this.#pipeText = this.#pipeText.slice(nl + 1);
        try {
          const report = JSON.parse(line) as WatchdogReport;
          if (report.type === "stuck" || report.type === "exiting") this.lastWords = report;
          events.report(this, report);
        } catch {
          // Not a report line: ignore it.
        }
      }
    });
    pipe?.on("error", () => {});
    this.send({ type: "init", config, id, ondemand });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /**
   * False when the worker can no longer be told anything (a full channel still queues: true).
   * `sent` runs once the message (and the handle's fd) went out, or failed to.
   */
  /** Its load as the process manager weighs it (pm.ts). */
  load(): WorkerLoad {
    return { id: this.id, starting: this.state === "starting", inflight: this.inflight, idleSince: this.idleSince };
  }

  send(message: ToWorker, handle?: PassedHandle, sent?: (error: Error | null) => void): boolean {
    if (this.exited || !this.child.connected) return false;
    try {
      if (handle === undefined) this.child.send(message);
      else this.child.send(message, handle as never, {}, (error) => sent?.(error));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Graceful: the worker stops accepting, finishes its requests and exits. `handOver`: its idle
   * kept-alive connections go on to other workers instead of being closed under the web server.
   */
  stop(reason: string, handOver: boolean): void {
    if (this.state === "finishing") return;
    this.state = "finishing";
    this.retireReason ??= reason;
    this.send({ type: "stop", handOver });
  }

  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}
