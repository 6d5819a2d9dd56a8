// The open-files limit, so FastCGI connections stop short of it instead of accept() failing.
import { readFileSync } from "node:fs";

/**
 * Descriptors kept for everything but FastCGI connections: listeners, logs, the IPC channel,
 * the file watcher, and what scripts open themselves (files, database connections).
 */
export const FD_RESERVE = 64;

/**
 * This process's soft RLIMIT_NOFILE (from `limits`, the text of /proc/self/limits, read when not
 * given), or Infinity when unlimited or where the platform does not show it (/proc is Linux's).
 */
export function openFilesLimit(limits?: string): number {
  let text = limits;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return Infinity;
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  return match === null || match[1] === "unlimited" ? Infinity : Number(match[1]);
}

/**
 * The most FastCGI connections to keep open: max_connections, or fewer when the open-files
 * limit is lower. Out of descriptors, libuv accepts and closes pending connections without a
 * word; stopping short keeps the choice (and the log line) with tscgi.
 */
export function connectionRoom(maxConnections: number, limit = openFilesLimit()): number {
  return Math.min(maxConnections, Math.max(1, limit - FD_RESERVE));
}
