// Scripts' console output, caught per file and decorated: PHP-FPM's catch_workers_output and decorate_workers_output.
import { Console } from "node:console";
import { realpathSync } from "node:fs";
import { relative } from "node:path";
import { escapeControlChars, LogSink, type LineSink } from "./log.ts";
import { currentRun } from "./script-faults.ts";
import { SharedLineSink } from "./shared-line-sink.ts";

export interface ScriptConsoleOptions {
  /** The script root: prefixes name files relative to it. */
  root: string;
  /** decorate_workers_output: prefix each line with `[pid N] file: ` and escape control characters. */
  decorate: boolean;
  /** Where console.log, info, debug, dir, table, time and count go; fd 1 by default. */
  stdout?: LineSink;
  /**
   * Where console.warn, error, trace and failed asserts go; fd 2 by default. Written at once,
   * unless it is a SharedLineSink, which a watchdog thread writes out when a script blocks.
   */
  stderr?: LineSink;
  /** The pid in prefixes; this process by default. */
  pid?: number;
}

// Files whose console is kept; past it the cache starts over (hot reload makes no new files).
const MAX_CACHED = 10_000;

/**
 * The `consoleFor` of ScriptLoader: each compiled file gets a Console of its own. Its stdout is
 * batched into the sink (one write per event-loop turn, flushed on exit, see LogSink). The last
 * words a script writes to stderr before it blocks its worker until the watchdog kills it, or
 * kills it itself, must reach the log: stderr is written at once, or batched in shared memory
 * that the watchdog writes out (SharedLineSink, a write per line costs 3 to 10 µs). Decorated,
 * a message of several lines becomes several prefixed lines, and no control character other than
 * a tab reaches the log; raw, the text goes out exactly as Node's console would print it.
 */
export function scriptConsoles(options: ScriptConsoleOptions): (file: string) => Console {
  const root = realRoot(options.root);
  const stdout = options.stdout ?? new LogSink("stdout");
  const stderr = options.stderr ?? new LogSink("stderr");
  const pid = options.pid ?? process.pid;
  const consoles = new Map<string, Console>();
  return (file) => {
    let console = consoles.get(file);
    if (console === undefined) {
      const prefix = options.decorate ? `[pid ${pid}] ${escapeControlChars(relative(root, file) || file)}: ` : null;
      console = new Console({
        stdout: lineStream(stdout, prefix, false),
        stderr: lineStream(stderr, prefix, !(stderr instanceof SharedLineSink), true),
        ignoreErrors: false,
        colorMode: false,
      });
      if (consoles.size >= MAX_CACHED) consoles.clear();
      consoles.set(file, console);
    }
    return console;
  };
}

function realRoot(root: string): string {
  try {
    // The loader names files by their real path.
    return realpathSync(root);
  } catch {
    return root;
  }
}

/**
 * The one method Console calls on its streams, `write`, with one formatted message ending in "\n".
 * `toRequest`: stderr, also sent to the web server with the request whose script wrote it (as
 * PHP-FPM does), so that it shows in the web server's error log beside the request; escaped as the
 * log line is when decorated.
 */
function lineStream(sink: LineSink, prefix: string | null, immediate: boolean, toRequest = false): NodeJS.WritableStream {
  const stream = {
    write(chunk: string | Uint8Array): boolean {
      let text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      if (text.endsWith("\n")) text = text.slice(0, -1);
      sink.line(prefix === null ? text : decorate(prefix, text));
      if (immediate) sink.flush?.();
      if (toRequest) currentRun()?.stderr(prefix === null ? text : decorate("", text));
      return true;
    },
  };
  return stream as unknown as NodeJS.WritableStream;
}

/** Prefixes each line of `text` and escapes what is left of control characters in it. */
function decorate(prefix: string, text: string): string {
  if (!text.includes("\n")) return prefix + escapeControlChars(text);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    lines[i] = prefix + escapeControlChars(line.endsWith("\r") ? line.slice(0, -1) : line);
  }
  return lines.join("\n");
}
