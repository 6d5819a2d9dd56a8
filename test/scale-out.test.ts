// Two tscgi hosts behind one nginx upstream sharing Redis sessions: one is killed mid-load (docs/scale-out.md).
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import t from "tap";
import { nginxMissing, startNginx, type Nginx } from "./helpers/nginx.ts";
import { freePort } from "./helpers/ports.ts";
import { redisMissing, startRedis } from "./helpers/redis.ts";
import { scaled } from "./helpers/time.ts";
import { childPids, startTscgi, until } from "./helpers/tscgi.ts";

const root = fileURLToPath(new URL("./fixtures/scale-out", import.meta.url));
const secret = "scale-out-test-secret-0123456789abcdef";
const CLIENTS = 8;
const BEFORE_KILL = 10; // answers per client before the kill
const AFTER_KILL = 15; // answers per client after it
const MAX_REQUESTS = CLIENTS * (BEFORE_KILL + AFTER_KILL) * 3; // a bound on the whole load
const MAX_MS = 60_000;

interface Answer {
  ok: boolean;
  count?: number;
  upstream?: string;
  error?: string;
}

/** One visitor: its own keep-alive connection and cookie jar (the session cookie). */
class Visitor {
  agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cookie = "";
  answers: Answer[] = [];

  get(url: string): Promise<Answer> {
    return new Promise((resolve) => {
      const headers = this.cookie ? { cookie: this.cookie } : undefined;
      const req = request(url, { agent: this.agent, headers, timeout: scaled(20_000) }, (res) => {
        const setCookie = res.headers["set-cookie"]?.[0];
        if (setCookie) this.cookie = setCookie.split(";")[0]!;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => {
          const upstream = String(res.headers["x-upstream"] ?? "");
          if (res.statusCode === 200 && /^\d+$/.test(body)) resolve({ ok: true, count: Number(body), upstream });
          else resolve({ ok: false, upstream, error: `${res.statusCode}: ${body.slice(0, 200)}` });
        });
        res.on("error", (e) => resolve({ ok: false, error: e.message }));
        res.on("aborted", () => resolve({ ok: false, error: "aborted" }));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) => resolve({ ok: false, error: e.message }));
      req.end();
    });
  }
}

const skip = nginxMissing() || redisMissing();
t.test("a host killed mid-load loses no session; nginx retries GETs on the other", { skip }, async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  // The same port on two loopback addresses: Linux routes all of 127/8 to lo.
  const port = await freePort();
  const [a, b] = [`127.0.0.2:${port}`, `127.0.0.3:${port}`];
  // request_timeout is also how long a dead host's session lock lives: below session_lock_timeout,
  // a visitor whose request died with host A waits it out instead of getting 503. Both are generous:
  // a first request compiles the script, slowly on a busy machine.
  const shared = [
    "--request-timeout",
    "20s",
    "--session-lock-timeout",
    "30s",
    "--root",
    root,
    "--workers",
    "2",
    "--session-store",
    "redis",
    "--session-redis-url",
    redis.url,
    "--cookie-secret",
    secret,
  ];
  const hostA = await startTscgi([...shared, "--access-log", "off"], { listen: a });
  const hostB = await startTscgi([...shared, "--access-log", "off"], { listen: b });
  t.teardown(async () => {
    await hostA.stop("SIGKILL");
    await hostB.stop();
  });
  await hostA.waitFor(`listening on fastcgi ${a}`);
  await hostB.waitFor(`listening on fastcgi ${b}`);
  const nginx: Nginx = await startNginx(
    [a, b],
    "fastcgi_next_upstream error timeout; fastcgi_next_upstream_tries 2; add_header X-Upstream $upstream_addr always;",
  );
  t.teardown(() => nginx.stop());
  const url = `${nginx.url}/counter`;

  const visitors = Array.from({ length: CLIENTS }, () => new Visitor());
  const deadline = Date.now() + scaled(MAX_MS);
  let sent = 0;
  let killed = false;
  let inFlight = 0;
  const successesSince = (v: Visitor, from: number) => v.answers.slice(from).filter((x) => x.ok).length;
  const answersAtKill = new Map<Visitor, number>();
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());

  const run = async (v: Visitor) => {
    for (;;) {
      const done = killed && successesSince(v, answersAtKill.get(v)!) >= AFTER_KILL;
      if (done || sent >= MAX_REQUESTS || Date.now() > deadline) return;
      sent++;
      inFlight++;
      const answer = await v.get(url);
      inFlight--;
      v.answers.push(answer);
      notify();
    }
  };
  const runs = visitors.map(run);

  // The kill comes once every visitor has a session and host A has served some of them.
  const readyToKill = () =>
    visitors.every((v) => v.answers.filter((x) => x.ok).length >= BEFORE_KILL) &&
    visitors.some((v) => v.answers.some((x) => x.upstream === a));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `load did not reach ${BEFORE_KILL} answers per visitor: ${JSON.stringify(visitors.map((v) => v.answers.slice(-3)))}\n${hostA.output().slice(-2000)}`,
          ),
        ),
      scaled(MAX_MS),
    );
    const check = () => {
      if (readyToKill()) {
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      }
    };
    waiters.add(check);
    check();
  });

  // kill -9 host A: its master and every worker at once, as a crashed machine would.
  const pids = [hostA.child.pid!, ...childPids(hostA.child.pid!)];
  const inFlightAtKill = inFlight;
  for (const v of visitors) answersAtKill.set(v, v.answers.length);
  killed = true;
  for (const pid of pids) process.kill(pid, "SIGKILL");
  await hostA.stop("SIGKILL");
  t.ok(await until(() => childPids(hostA.child.pid!).length === 0 && pids.every((p) => !alive(p))), "host A's processes are gone");

  await Promise.all(runs);
  t.ok(sent < MAX_REQUESTS && Date.now() <= deadline, `the load finished within its bounds (${sent} requests)`);

  let failures = 0;
  let skipped = 0;
  let retried = 0;
  for (const [i, v] of visitors.entries()) {
    const counts = v.answers.filter((x) => x.ok).map((x) => x.count!);
    failures += v.answers.filter((x) => !x.ok).length;
    retried += v.answers.filter((x) => x.ok && x.upstream?.includes(",")).length;
    t.equal(counts[0], 1, `visitor ${i} starts a session at 1`);
    const restarts = counts.slice(1).filter((c) => c === 1).length;
    t.equal(restarts, 0, `visitor ${i}'s count never starts again at 1`);
    const increasing = counts.every((c, j) => j === 0 || c > counts[j - 1]);
    t.ok(increasing, `visitor ${i}'s count only goes up: ${counts.join(",")}`);
    for (let j = 1; j < counts.length; j++) skipped += counts[j] - counts[j - 1] - 1;
    t.ok(successesSince(v, answersAtKill.get(v)!) >= AFTER_KILL, `visitor ${i} keeps counting on host B`);
  }
  // Only a request host A had begun answering fails: at most one per visitor, the ones in flight.
  t.ok(failures <= inFlightAtKill, `failed requests (${failures}) are at most those in flight at the kill (${inFlightAtKill})`);
  // A count is skipped only where host A saved the session and died before its answer got out.
  t.ok(skipped <= inFlightAtKill, `skipped counts (${skipped}) are at most those in flight at the kill (${inFlightAtKill})`);
  const after = visitors.flatMap((v) => v.answers.slice(answersAtKill.get(v)! + 1));
  t.ok(
    after.filter((x) => x.ok).every((x) => x.upstream === b || x.upstream?.endsWith(`, ${b}`)),
    "after the kill, every answer comes from host B",
  );
  const log = nginx.errorLog();
  const marked = /upstream server temporarily disabled|connect\(\) failed \(111: Connection refused\)/.test(log);
  t.ok(retried > 0 || marked, `nginx retried GETs on host B (${retried} answers went to both) or marked host A failed`);
  t.ok(/127\.0\.0\.2/.test(log), "nginx's error log names host A");
  t.comment(
    `clients ${CLIENTS}, requests ${sent}, in flight at kill ${inFlightAtKill}, failed ${failures}, skipped ${skipped}, retried ${retried}`,
  );
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
