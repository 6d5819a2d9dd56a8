// Error-log lines for workers that died or were stopped by the watchdog: which script, which URL.
import { escapeLogText } from "../server/log.ts";
import type { WatchdogReport } from "./protocol.ts";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function running(requests: ReadonlyArray<{ script: string; method: string; uri: string }>): string {
  if (requests.length === 0) return "no request in flight";
  const list = requests.slice(0, 5).map((r) => `${escapeLogText(r.script)} (${escapeLogText(r.method)} ${escapeLogText(r.uri)})`);
  return `running ${list.join(", ")}${requests.length > 5 ? ` and ${requests.length - 5} more` : ""}`;
}

export function describeStuck(pid: number, r: Extract<WatchdogReport, { type: "stuck" }>, timeout: number): string {
  const requests = r.requests.map(
    (q) =>
      `${escapeLogText(q.script)} (${escapeLogText(q.method)} ${escapeLogText(q.uri)}, running ${seconds(q.elapsed)}` +
      `${q.answered ? ", answered 504" : ""})`,
  );
  const stack = r.stack ? `\n  at the time: ${r.stack.split("\n").slice(0, 8).join("\n  ")}` : "";
  return (
    `worker ${pid} stopped: stuck in synchronous code for ${seconds(r.blocked)}, past request_timeout (${seconds(timeout)}); ` +
    `${requests.length > 0 ? requests.join(", ") : "no request in flight"}; a new worker replaces it${stack}`
  );
}

export function describeExit(pid: number, code: number | null, signal: NodeJS.Signals | null, lastWords: WatchdogReport | null): string {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  if (lastWords?.type === "exiting") {
    return `worker ${pid} ${how} (${escapeLogText(lastWords.reason)}) while ${running(lastWords.requests)}; a new worker replaces it`;
  }
  return `worker ${pid} ${how} unexpectedly; a new worker replaces it`;
}
