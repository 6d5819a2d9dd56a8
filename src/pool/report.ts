// A serving process's account of itself (for the status page), in a worker or the single process.
import type { RunningServer } from "../server/serve.ts";
import type { WorkerReport } from "./protocol.ts";

export function workerReport(server: RunningServer, slow = 0): WorkerReport {
  const stats = server.stats;
  let current: WorkerReport["current"] = null;
  const now = performance.now();
  for (const r of server.running()) {
    if (current === null || now - r.start > current.elapsed) {
      current = { method: r.method, uri: r.uri, contentLength: r.contentLength, elapsed: now - r.start };
    }
  }
  const cpu = process.cpuUsage();
  return {
    pid: process.pid,
    requests: stats.requests,
    inflight: server.inflight,
    connections: server.connections,
    accepted: server.accepted,
    rejected: stats.rejected,
    maxConnectionsReached: server.maxConnectionsReached,
    slow,
    lastMethod: stats.lastMethod,
    lastUri: stats.lastUri,
    lastScript: stats.lastScript,
    lastDuration: stats.lastDuration,
    lastContentLength: stats.lastContentLength,
    current,
    rss: process.memoryUsage.rss(),
    cpu: (cpu.user + cpu.system) / 1e6,
    broken: server.brokenScripts(),
  };
}
