// The master's own logs: the error log and the slow log, reopened on SIGUSR1 and opened anew on a
// reload that names other files.
import type { Config } from "../config/types.ts";
import { LogSink, Logger } from "../server/log.ts";

export class MasterLogs {
  #errorSink: LogSink;
  #slowSink: LogSink;
  /** Writes to the error log at log_level; replaced on reload. */
  log: Logger;

  constructor(config: Config) {
    this.#errorSink = new LogSink(config.error_log);
    this.#slowSink = new LogSink(config.slowlog);
    this.log = new Logger(this.#errorSink, config.log_level);
  }

  /** Reload: a log whose target changed is closed and opened anew; the logger takes the new log_level. */
  reconfigure(before: Config, config: Config): void {
    if (config.error_log !== before.error_log) {
      this.#errorSink.close();
      this.#errorSink = new LogSink(config.error_log);
    }
    if (config.slowlog !== before.slowlog) {
      this.#slowSink.close();
      this.#slowSink = new LogSink(config.slowlog);
    }
    this.log = new Logger(this.#errorSink, config.log_level);
  }

  slow(line: string): void {
    this.#slowSink.line(line);
  }

  reopen(): void {
    this.#errorSink.reopen();
    this.#slowSink.reopen();
  }

  /** Closes the slow log; the error log is left open. */
  closeSlowLog(): void {
    this.#slowSink.close();
  }
}
