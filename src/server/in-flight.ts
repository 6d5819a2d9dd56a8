// One request in flight, as the dispatcher tracks it: its exchange, its script's context, and how
// it ended when something other than the script's own return answered it.
import type { Exchange } from "../cgi/exchange.ts";
import type { CgiContext } from "../runtime/context.ts";
import { escapeLogText } from "./log.ts";
import type { ScriptFaults, ScriptRun } from "./script-faults.ts";

/** How a request was answered when not by its script's own return or throw. */
export type EndedBy = "timeout" | "exit" | "fault";

/** Ends a request for its script's process.exit() or fault (see ScriptRun). */
export interface RunEnder {
  exit(entry: InFlight, code: number): { status: number; sent: boolean };
  fail(entry: InFlight, error: unknown): number;
}

/** One request in flight, and the async context its script runs in. */
export class InFlight implements ScriptRun {
  ctx: CgiContext | null = null;
  /** Set when the request was answered from outside its script's call: the call's outcome is then ignored. */
  endedBy: EndedBy | null = null;
  done = false;
  script = "-";
  /** performance.now() after which a script still running past its timeout is runaway. */
  graceEnd = 0;
  constructor(
    readonly exchange: Exchange,
    readonly start: number,
    readonly faults: ScriptFaults,
    readonly ender: RunEnder,
  ) {}

  get open(): boolean {
    return !this.done;
  }

  get request(): string {
    const p = this.exchange.params;
    return `${escapeLogText(p.REQUEST_METHOD ?? "-")} ${escapeLogText(p.REQUEST_URI ?? p.DOCUMENT_URI ?? "-")}`;
  }

  exit(code: number): { status: number; sent: boolean } {
    return this.ender.exit(this, code);
  }

  fail(error: unknown): number {
    return this.ender.fail(this, error);
  }

  stderr(line: string): void {
    if (!this.done) this.exchange.writeStderr?.(Buffer.from(line + "\n"));
  }
}
