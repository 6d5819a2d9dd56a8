// Describes a script failure for the error log: the message and the script's own file:line.
import { relative, sep } from "node:path";
import { isTscgiError } from "../errors.ts";
import { escapeControlChars } from "./log.ts";

// V8 stack frames: "    at fn (/abs/file.ts:3:9)" or "    at /abs/file.ts:3:9".
const FRAME = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/;

/** The first stack frame inside the script root: its absolute file, line and column (1-based), if any. */
export function scriptLocation(error: unknown, root: string): { file: string; line: number; column: number } | null {
  const stack = error instanceof Error ? error.stack : undefined;
  if (!stack) return null;
  const prefix = root.endsWith(sep) ? root : root + sep;
  for (const line of stack.split("\n")) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, "");
    if (file.startsWith(prefix)) return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return null;
}

/** The first stack frame inside the script root, as "cgi-bin/x.ts:3:9" (relative to cwd), if any. */
export function scriptFrame(error: unknown, root: string): string | null {
  const where = scriptLocation(error, root);
  return where === null ? null : `${relative(process.cwd(), where.file)}:${where.line}:${where.column}`;
}

/**
 * One line: a thrown message often quotes request data (`no such user: ${id}`, a Headers error
 * naming the bad value), so its line breaks and control characters are escaped, not written.
 */
export function describeError(error: unknown, root: string): string {
  if (!(error instanceof Error)) return `non-error thrown: ${escapeControlChars(String(error))}`;
  const code = isTscgiError(error) ? ` [${error.code}]` : "";
  const where = scriptFrame(error, root);
  const cause = error.cause instanceof Error ? ` (cause: ${escapeControlChars(error.cause.message)})` : "";
  return `${escapeControlChars(`${error.name}: ${error.message}`)}${code}${cause}${where ? ` at ${where}` : ""}`;
}
