// The connections a web server keeps open are evened out between workers: the one that took the
// burst hands idle ones to the others, and no request on them is lost.
import t from "tap";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createHash } from "node:crypto";
import { shedCounts, takerFor } from "../../src/pool/connection-balance.ts";
import { startLoad, type LoadBody } from "../helpers/load.ts";
import { nginxMissing } from "../helpers/nginx.ts";
import { poolBehindNginx } from "../helpers/pool.ts";
import { childPids, repo, until } from "../helpers/tscgi.ts";

/** Connections held by workers 1, 2, ... in turn. */
const holding = (...counts: number[]) => counts.map((connections, i) => ({ id: i + 1, connections }));

t.test("a worker sheds what it holds over the mean, once that is at least 8 and more than a tenth of the mean", async (t) => {
  const cases: Array<[number[], Array<{ id: number; count: number }>, string]> = [
    [[16], [], "alone: nothing to even out"],
    [[16, 0], [{ id: 1, count: 8 }], "16 opened while the other was stopped"],
    [[162, 94], [{ id: 1, count: 34 }], "the spread nginx left with keepalive 256"],
    [[12, 4], [], "4 over the mean: left where they are"],
    [[1100, 1000, 900], [], "100 over a mean of 1,000: within a tenth"],
    [[40, 30, 2], [{ id: 1, count: 16 }], "only those well over; the one just over keeps its own"],
  ];
  for (const [counts, expected, what] of cases) t.same(shedCounts(holding(...counts)), expected, what);
});

t.test("a shed connection goes to the worker holding the fewest, never back to its sender", async (t) => {
  const holders = holding(30, 9, 4);
  t.equal(takerFor(1, holders), 3);
  t.equal(takerFor(3, holders), 2, "the sender is skipped even when it holds the fewest");
  t.equal(takerFor(1, holding(30)), null, "no other worker");
});

const fixtures = `${repo}test/fixtures/cgi-bin`;
const missing = nginxMissing();

/** TCP connections a process holds to `port` on 127.0.0.1, from /proc (its FastCGI connections). */
function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let count = 0;
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // An established connection (st 01) whose local end is the FastCGI port, held by this process.
    if (fields[1] === local && fields[3] === "01" && inodes.has(fields[9])) count++;
  }
  return count;
}

t.test(
  "16 connections nginx opened while one of 2 workers was stopped end up split between them, with every POST answered",
  { skip: missing },
  async (t) => {
    const { tscgi, nginx } = await poolBehindNginx(t, ["--root", fixtures, "--workers", "2", "--log-level", "debug"]);
    const [first, second] = childPids(tscgi.child.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("worker"));
    const form = Buffer.from("name=ada&message=" + "x".repeat(1000));
    const post: LoadBody = { body: form, contentType: "application/x-www-form-urlencoded" };
    const digest = createHash("sha256").update(form).digest("hex");
    // nginx keeps 16 connections (keepalive 16) and 16 clients never need more: none is closed or
    // opened after the start, so without a hand-over the first worker would keep all 16.
    process.kill(second, "SIGSTOP");
    const load = startLoad(`${nginx.url}/hash`, { concurrency: 16, total: 100_000, maxMs: 60_000, post });
    t.teardown(() => load.stop());
    t.ok(await until(() => load.count() >= 200, 30_000, 5), "the load runs on the first worker");
    t.comment(`with the second stopped: ${connectionsTo(first, tscgi.fastcgiPort)}/${connectionsTo(second, tscgi.fastcgiPort)}`);
    process.kill(second, "SIGCONT");
    await tscgi.waitFor(/asked to hand them to the others/);
    const even = await until(
      () => Math.min(connectionsTo(first, tscgi.fastcgiPort), connectionsTo(second, tscgi.fastcgiPort)) >= 6,
      30_000,
      50,
    );
    const held = `${connectionsTo(first, tscgi.fastcgiPort)}/${connectionsTo(second, tscgi.fastcgiPort)}`;
    t.ok(even, `connections held by the 2 workers: ${held}`);
    const sent = load.count();
    t.ok(await until(() => load.count() >= sent + 500, 30_000, 5), "requests go on over the moved connections");
    load.stop();
    const result = await load.done;
    t.equal(result.failed, 0, `no POST without an answer (${result.errors.join("; ")})`);
    t.equal(result.statuses[200] ?? 0, result.sent, `all ${result.sent} POSTs answered 200 (${JSON.stringify(result.statuses)})`);
    t.ok(
      [...result.bodies].every((b) => b.includes(digest)),
      "every answer carries the body's hash",
    );
  },
);
