// Scripts' faults counted by script and kind, for the status page, and the log line that names a
// script faulting again and again.
import { escapeControlChars } from "./log.ts";

/**
 * What went wrong: process.exit(), a throw nobody caught, a rejection nobody handled, a script
 * still running after request_timeout's grace, a worker that died while running it.
 */
export const FAULT_KINDS = ["exit", "uncaught", "rejection", "runaway", "death"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One script's faults since start, by kind. */
export type ScriptFaultCount = { script: string; faults: number } & Record<FaultKind, number>;

/** This many faults of one script within FAULT_WINDOW get a log line of their own. */
export const REPEATED_FAULTS = 5;
/** Milliseconds. */
export const FAULT_WINDOW = 60_000;
// Scripts tracked; past it the tally starts over (names come from files under the script root).
const MAX_SCRIPTS = 10_000;

interface Entry {
  counts: ScriptFaultCount;
  /** When its last faults happened (at most REPEATED_FAULTS of them), oldest first. */
  recent: number[];
  /** When its last "faults in the last minute" line was written. */
  warned: number;
}

export class FaultTally {
  readonly #scripts = new Map<string, Entry>();

  /** Counts one fault; answers the log line to write when the script has faulted REPEATED_FAULTS times within FAULT_WINDOW. */
  add(script: string, kind: FaultKind, now = Date.now()): string | null {
    let entry = this.#scripts.get(script);
    if (entry === undefined) {
      if (this.#scripts.size >= MAX_SCRIPTS) this.#scripts.clear();
      const counts: ScriptFaultCount = { script, faults: 0, exit: 0, uncaught: 0, rejection: 0, runaway: 0, death: 0 };
      entry = { counts, recent: [], warned: -Infinity };
      this.#scripts.set(script, entry);
    }
    entry.counts[kind]++;
    entry.counts.faults++;
    entry.recent.push(now);
    if (entry.recent.length > REPEATED_FAULTS) entry.recent.shift();
    const repeated = entry.recent.length === REPEATED_FAULTS && now - entry.recent[0] <= FAULT_WINDOW;
    // Once per window: a script failing on every request must not double the log's size.
    if (!repeated || now - entry.warned < FAULT_WINDOW) return null;
    entry.warned = now;
    const kinds = FAULT_KINDS.filter((k) => entry.counts[k] > 0).map((k) => `${entry.counts[k]} ${k}`);
    return `script ${escapeControlChars(script)} faults repeatedly: ${REPEATED_FAULTS} faults in the last minute, ${entry.counts.faults} since start (${kinds.join(", ")}); see its log lines`;
  }

  /** Every script with a fault, most faults first. */
  list(): ScriptFaultCount[] {
    return [...this.#scripts.values()].map((e) => ({ ...e.counts })).sort((a, b) => b.faults - a.faults || (a.script < b.script ? -1 : 1));
  }
}
