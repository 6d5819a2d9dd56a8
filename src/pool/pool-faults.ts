// The pool's script faults: each worker reports its scripts' faults as they happen, and the master
// counts the workers that died running a script; both survive the workers, for the status page.
import { FaultTally, type FaultKind, type ScriptFaultCount } from "../server/fault-tally.ts";
import type { WatchdogReport } from "./protocol.ts";

export class PoolFaults {
  readonly #tally = new FaultTally();
  readonly #log: (line: string) => void;

  /** `log` gets the line naming a script that faults repeatedly. */
  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** A worker's script faulted; the worker logged it and answered its request. */
  reported(script: string, kind: FaultKind): void {
    const repeated = this.#tally.add(script, kind);
    if (repeated) this.#log(repeated);
  }

  /** A worker died unexpectedly: each script it was running (its last words) counts a death. */
  died(lastWords: WatchdogReport | null): void {
    if (lastWords === null || lastWords.type === "slow") return;
    const scripts = new Set(lastWords.requests.map((r) => r.script).filter((script) => script !== "-"));
    for (const script of scripts) this.reported(script, "death");
  }

  list(): ScriptFaultCount[] {
    return this.#tally.list();
  }
}
