// The signals `tscgi serve` obeys, as PHP-FPM takes them, wired once for the master and the single process.
import type { Logger } from "../server/log.ts";

const STOP_SIGNALS: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGQUIT"];
const RELOAD_SIGNALS: NodeJS.Signals[] = ["SIGHUP", "SIGUSR2"];

export interface SignalActions {
  /** A graceful stop; the process exits 0 once it is done. */
  stop(): Promise<void>;
  /** The same stop signal again: stop at once; the process exits 1. */
  kill(): void;
  /** SIGHUP or SIGUSR2. */
  reload(signal: NodeJS.Signals): void;
  /** SIGUSR1. */
  reopenLogs(): void;
}

/** TERM/INT/QUIT stop gracefully (twice: at once), HUP/USR2 reload, USR1 reopens log files. */
export class ProcessSignals {
  readonly #log: Logger;
  #stopping = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** True once a stop signal arrived: readiness answers "not ready" from then on. */
  get stopping(): boolean {
    return this.#stopping;
  }

  listen(actions: SignalActions): void {
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        if (this.#stopping) {
          this.#log.warn(`${signal} again: exiting now`);
          actions.kill();
          process.exit(1);
        }
        this.#stopping = true;
        this.#log.info(`${signal}: stopping gracefully`);
        void actions.stop().then(() => process.exit(0));
      });
    }
    for (const signal of RELOAD_SIGNALS) process.on(signal, () => actions.reload(signal));
    process.on("SIGUSR1", () => actions.reopenLogs());
  }
}
