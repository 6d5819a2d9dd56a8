// A bounded HTTP load: `concurrency` keep-alive clients sending requests until `total` are done,
// `stop()` is called or `maxMs` passes. Counts answers by status and failures (no answer at all).
// maxMs and the request timeout are scaled by TEST_TIME_FACTOR.
import { Agent, request } from "node:http";
import { scaled } from "./time.ts";

interface LoadResult {
  sent: number;
  /** Answers by HTTP status. */
  statuses: Record<number, number>;
  /** Requests that got no HTTP answer (connection refused, reset, timeout). */
  failed: number;
  errors: string[];
  /** Answer bodies seen (first 50 distinct), e.g. pids. */
  bodies: Set<string>;
}

export interface Load {
  done: Promise<LoadResult>;
  /** Ends the load early (the requests in flight still finish). */
  stop(): void;
  /** Answers so far. */
  count(): number;
  /** Resolves once `n` requests are answered (or failed); rejects if the load ends before. */
  answered(n: number): Promise<void>;
}

/** A POST body: a request that nginx never retries on another connection once it has been sent. */
export interface LoadBody {
  body: Buffer;
  contentType: string;
}

function once(agent: Agent, url: URL, timeoutMs: number, post?: LoadBody): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = post ? { "content-type": post.contentType, "content-length": String(post.body.byteLength) } : undefined;
    const req = request(url, { agent, timeout: timeoutMs, method: post ? "POST" : "GET", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(post?.body);
  });
}

export function startLoad(
  target: string,
  options: { concurrency: number; total: number; maxMs: number; requestTimeoutMs?: number; post?: LoadBody },
): Load {
  const url = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = { sent: 0, statuses: {}, failed: 0, errors: [], bodies: new Set() };
  const deadline = Date.now() + scaled(options.maxMs);
  let stopped = false;
  let answered = 0;
  let finished = false;
  const waiters = new Set<() => void>();
  const client = async () => {
    while (!stopped && result.sent < options.total && Date.now() < deadline) {
      result.sent++;
      try {
        const { status, body } = await once(agent, url, scaled(options.requestTimeoutMs ?? 10_000), options.post);
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        if (result.bodies.size < 50) result.bodies.add(body.trim());
      } catch (error) {
        result.failed++;
        if (result.errors.length < 10) result.errors.push((error as Error).message);
      }
      answered++;
      for (const wake of waiters) wake();
    }
  };
  const done = Promise.all(Array.from({ length: options.concurrency }, client)).then(() => {
    agent.destroy();
    finished = true;
    for (const wake of waiters) wake();
    return result;
  });
  return {
    done,
    stop: () => {
      stopped = true;
    },
    count: () => answered,
    answered: (n) =>
      new Promise<void>((resolve, reject) => {
        const wake = () => {
          if (answered >= n) resolve();
          else if (finished) reject(new Error(`the load ended after ${answered} answers, before ${n}`));
          else return;
          waiters.delete(wake);
        };
        waiters.add(wake);
        wake();
      }),
  };
}
