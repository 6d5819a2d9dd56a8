// Running out of file descriptors: a start-up warning when max_connections cannot fit under the
// open-file limit, a worker that keeps short of it under a flood, and one whose memory reading
// finds no descriptor left carries on (and says so).
import t from "tap";
import { connect, type Socket } from "node:net";
import { fdLimitWarning, RssReader } from "../../src/pool/fd-limit.ts";
import { FD_RESERVE as FD_MARGIN, openFilesLimit as openFileLimit } from "../../src/server/fd-limit.ts";
import type { LogLevel } from "../../src/server/log.ts";
import { getFresh } from "../helpers/http.ts";
import { childPids, repo, startTscgi } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

t.test("the soft open-file limit is read from /proc/self/limits", async (t) => {
  t.equal(openFileLimit(LIMITS), 1024);
  t.equal(openFileLimit(LIMITS.replace("1024 ", "unlimited")), Infinity);
  t.equal(openFileLimit("Max cpu time unlimited unlimited seconds\n"), Infinity, "no such line: no limit known");
  const here = openFileLimit();
  t.ok(here > 0, `this process: ${here}`);
});

t.test("the warning names both numbers and the fixes", async (t) => {
  t.equal(fdLimitWarning(1024, 1024 + FD_MARGIN), null, "enough");
  t.equal(fdLimitWarning(1024, Infinity), null, "unlimited");
  const warning = fdLimitWarning(1024, 256)!;
  t.match(warning, /max_connections is 1024/);
  t.match(warning, /open-file limit \(RLIMIT_NOFILE\) is 256/);
  t.match(warning, new RegExp(`ulimit -n ${1024 + FD_MARGIN}`));
  t.match(warning, new RegExp(`LimitNOFILE=${1024 + FD_MARGIN}`));
  t.match(warning, new RegExp(`lower max_connections to ${256 - FD_MARGIN}`));
});

t.test("EMFILE while reading memory is logged once, survived, and its end logged", async (t) => {
  const logged: Array<[LogLevel, string]> = [];
  let fail: string | null = "EMFILE";
  const reader = new RssReader(
    (level, message) => logged.push([level, message]),
    () => {
      if (fail !== null) throw Object.assign(new Error(`${fail}: too many open files`), { code: fail });
      return 42;
    },
  );
  t.equal(reader.read(), null);
  fail = "ENFILE";
  t.equal(reader.read(), null);
  t.equal(logged.length, 1, "one line while it lasts");
  t.match(logged[0], ["warn", /out of file descriptors \(EMFILE\).*ulimit -n/]);
  fail = null;
  t.equal(reader.read(), 42);
  t.match(logged[1], ["info", /file descriptors again/]);
  t.equal(reader.read(), 42);
  t.equal(logged.length, 2);
  fail = "EACCES";
  t.throws(() => reader.read(), { code: "EACCES" }, "other errors are not hidden");
});

t.test("a worker flooded with more connections than descriptors stops short of the limit and keeps serving", async (t) => {
  const openFiles = 128;
  const tscgi = await startTscgi(["--root", fixtures, "--workers", "1"], { openFiles, env: { NODE_OPTIONS: "" } });
  t.teardown(() => tscgi.stop());
  await tscgi.waitFor(/WARN: max_connections is 1024, but the open-file limit \(RLIMIT_NOFILE\) is 128/);
  // A first answer shows the worker has started (its watchdog thread too) before its files run out.
  const worker = Number((await getFresh(`http://127.0.0.1:${tscgi.httpPort}/pid`)).body);
  t.same(childPids(tscgi.child.pid!), [worker], "one worker, which answered");

  // More connections than descriptors, as a flood keeps them coming: each one the worker closes is
  // replaced (at most MAX_CONNECTS in all). The worker holds at most the open-files limit less its
  // own reserve, so its health check (which opens /proc/self/stat) and its requests still have
  // descriptors; before, accept took them all and that EMFILE was an uncaught exception.
  const MAX_CONNECTS = 4000;
  const sockets = new Set<Socket>();
  let connects = 0;
  let flooding = true;
  const open = () => {
    if (!flooding || connects >= MAX_CONNECTS) return;
    connects++;
    const socket = connect(tscgi.fastcgiPort, "127.0.0.1");
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      open();
    });
    sockets.add(socket);
  };
  const stopFlood = () => {
    flooding = false;
    for (const socket of sockets) socket.destroy();
  };
  t.teardown(stopFlood);
  for (let i = 0; i < openFiles + 32; i++) open();
  await tscgi.waitFor(/max_connections \(\d+, lowered to fit the open-files limit\) reached/);
  const during = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/pid`);
  t.equal(during.body, String(worker), "it answers during the flood");
  stopFlood();
  t.notMatch(tscgi.output(), /uncaught exception|out of file descriptors/, "it never ran out");
  const answer = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/pid`);
  t.equal(answer.body, String(worker), "the same worker serves the next request");
  t.notMatch(tscgi.output(), /exited|replaces it/, "no worker died");
});
