// The watchdog: a thread beside a serving process's main thread. The main thread publishes its
// requests in an InflightTable and beats a heartbeat; when the heartbeat stops (a script stuck in
// synchronous code) this thread is the only code still running. It logs slow requests with the
// script's stack (taken through the inspector, which interrupts a busy thread), and past
// request_timeout answers the stuck requests 504 on their sockets and ends the process, so the
// master replaces it.
import { writeSync } from "node:fs";
import { Session } from "node:inspector";
import { parentPort, workerData } from "node:worker_threads";
import { formatCgiHead } from "../cgi/head.ts";
import { ProtocolStatus } from "../fastcgi/constants.ts";
import { encodeResponseEnd } from "../fastcgi/writer.ts";
import { InflightTable, SlotState, Wire, type SlotView } from "../server/inflight-table.ts";
import { flushShared } from "../server/shared-line-sink.ts";
import { REPORT_FD, type WatchdogReport } from "./protocol.ts";

export interface WatchdogOptions {
  buffer: SharedArrayBuffer;
  capacity: number;
  /** Milliseconds; 0 = off. */
  requestTimeout: number;
  slowlogTimeout: number;
  /** Pool worker: report on the pipe and end the process when stuck. Single process: only report. */
  pool: boolean;
  /** Scripts' stderr not yet written (see SharedLineSink): written out here while the main thread is busy. */
  stderr: SharedArrayBuffer;
}

/** How long the heartbeat may be silent before the main thread counts as blocked. */
export const BLOCKED_AFTER = 500;
/** A silent heartbeat this old means JavaScript is running now: a slow request gets its stack. */
const BUSY_AFTER = 250;

const options = workerData as WatchdogOptions;
const table = new InflightTable(options.capacity, options.buffer);
const slowlogged = new Set<number>();
let busy = false;

function report(message: WatchdogReport): void {
  if (options.pool) {
    try {
      writeSync(REPORT_FD, JSON.stringify(message) + "\n");
    } catch {
      // The master is gone; nothing to tell.
    }
  } else {
    parentPort?.postMessage(message);
  }
}

/** How long a stuck worker's stack may take before it is killed without one. */
const STUCK_STACK_WAIT = 5000;

/** The main thread's stack, source-mapped to TypeScript lines, or null when it cannot be taken. */
function stackOfMainThread(timeout: number): Promise<string | null> {
  return new Promise((resolve) => {
    let session: Session | null = new Session();
    const finish = (stack: string | null) => {
      if (session === null) return;
      const s = session;
      session = null;
      clearTimeout(timer);
      s.post("Debugger.resume", () => s.post("Debugger.disable", () => s.disconnect()));
      resolve(stack);
    };
    const timer = setTimeout(() => finish(null), timeout);
    try {
      session.connectToMainThread();
      session.once("Debugger.paused", (message) => {
        const frame = (message.params as { callFrames: Array<{ callFrameId: string }> }).callFrames[0];
        if (!frame || session === null) return finish(null);
        // Evaluated on the paused frame, the Error's stack is the script's, through Node's source maps.
        session.post(
          "Debugger.evaluateOnCallFrame",
          { callFrameId: frame.callFrameId, expression: "new Error('request is slow').stack", silent: true },
          (error, result) => {
            const value = (result as { result?: { value?: unknown } } | undefined)?.result?.value;
            if (error || typeof value !== "string") return finish(null);
            // Drop the Error line and the eval frame this thread added.
            finish(
              value
                .split("\n")
                .slice(2)
                .map((line) => line.trim())
                .join("\n"),
            );
          },
        );
      });
      session.post("Debugger.enable", () => session?.post("Debugger.pause"));
    } catch {
      finish(null);
    }
  });
}

const RESPONSE_504 = Buffer.from("504 Gateway Timeout: the script did not finish within request_timeout\n");

/** The bytes that answer a request 504 on its connection, framed for its protocol. */
function answer504(slot: SlotView): Buffer {
  const headers = ["Content-Type", "text/plain; charset=utf-8", "Content-Length", String(RESPONSE_504.length)];
  if (slot.wire === Wire.FastCgi) {
    const head = Buffer.from(formatCgiHead(504, headers), "latin1");
    return encodeResponseEnd(slot.requestId, 1, ProtocolStatus.RequestComplete, Buffer.concat([head, RESPONSE_504]), false);
  }
  const head =
    "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${RESPONSE_504.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), RESPONSE_504]);
}

async function check(): Promise<void> {
  const now = Date.now();
  const blocked = now - table.heartbeat;
  const isBlocked = table.heartbeat > 0 && blocked > BLOCKED_AFTER;
  // A script's last words before it blocks this process go out now, not when (or if) it ends.
  if (table.heartbeat > 0 && blocked > BUSY_AFTER) flushShared(options.stderr, 2);
  const slots = table.snapshot();
  for (const seq of slowlogged) if (!slots.some((s) => s.seq === seq)) slowlogged.delete(seq);

  if (options.slowlogTimeout > 0) {
    const slow = slots.filter((s) => now - s.start >= options.slowlogTimeout && !slowlogged.has(s.seq));
    if (slow.length > 0) {
      // Only a busy thread is running the script's code; otherwise it is awaiting I/O.
      const stack = table.heartbeat > 0 && blocked > BUSY_AFTER ? await stackOfMainThread(1000) : null;
      for (const s of slow) {
        slowlogged.add(s.seq);
        report({ type: "slow", script: s.script || "-", method: s.method, uri: s.uri, elapsed: now - s.start, stack });
      }
    }
  }

  if (!options.pool || options.requestTimeout <= 0 || !isBlocked) return;
  const over = slots.filter((s) => now - s.start >= options.requestTimeout);
  // A thread blocked longer than the timeout is stuck even when its request already got its answer.
  if (over.length === 0 && blocked < options.requestTimeout + BLOCKED_AFTER) return;
  // The worker is about to be killed anyway: on a loaded machine the inspector's pause can take
  // more than a second to land, and the stack is what tells the operator which line spins.
  const stack = await stackOfMainThread(STUCK_STACK_WAIT);
  const requests = [];
  for (const s of slots) {
    // Every request here dies with the process: each that has had no byte of its response yet
    // and is alone on its connection gets a 504 rather than a cut connection (answering one that
    // shares its connection could corrupt what the connection already carries).
    const alone = slots.every((other) => other === s || other.fd !== s.fd);
    let answered = false;
    if (s.state === SlotState.Running && alone) {
      try {
        writeSync(s.fd, answer504(s));
        answered = true;
      } catch {
        // The socket is full or gone: the process exit below closes it.
      }
    }
    requests.push({ script: s.script || "-", method: s.method, uri: s.uri, elapsed: now - s.start, answered });
  }
  report({ type: "stuck", requests, blocked, stack });
  flushShared(options.stderr, 2);
  process.kill(process.pid, "SIGKILL");
}

const tick = Math.max(50, Math.min(250, ...[options.requestTimeout, options.slowlogTimeout].filter((ms) => ms > 0).map((ms) => ms / 4)));
setInterval(() => {
  if (busy) return;
  busy = true;
  // A failed check is an error of this thread's own, reported as one (the worker's 'error' event).
  void check().finally(() => {
    busy = false;
  });
}, tick);
