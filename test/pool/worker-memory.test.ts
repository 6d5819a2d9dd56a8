// Workers start with few malloc arenas and a small V8 young generation, so one comes back near its
// start-up size after a load; a value the user set in the environment or NODE_OPTIONS wins.
import { readFileSync } from "node:fs";
import t, { type Test } from "tap";
import { workerExecArgv } from "../../src/pool/worker-memory.ts";
import { getFresh } from "../helpers/http.ts";
import { childPids, repo, startTscgi } from "../helpers/tscgi.ts";

const root = `${repo}test/fixtures/cgi-bin`;

async function workerSees(
  t: Test,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ env: Record<string, string>; argv: string[] }> {
  const tscgi = await startTscgi(["--root", root, "--workers", "1", ...args], { env });
  t.teardown(() => tscgi.stop());
  const res = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/process-env?names=MALLOC_ARENA_MAX`);
  t.equal(res.status, 200, res.body);
  const [worker] = childPids(tscgi.child.pid!);
  const argv = readFileSync(`/proc/${worker}/cmdline`, "utf8").split("\0");
  return { env: JSON.parse(res.body) as Record<string, string>, argv };
}

t.test("by default a worker runs with MALLOC_ARENA_MAX=2 and a 4 MiB semi-space", async (t) => {
  const seen = await workerSees(t, []);
  t.equal(seen.env.MALLOC_ARENA_MAX, "2");
  t.ok(seen.argv.includes("--max-semi-space-size=4"), seen.argv.join(" "));
});

t.test("the keys choose other values; 0 leaves glibc's and Node's defaults", async (t) => {
  const seen = await workerSees(t, ["--worker-malloc-arena-max", "4", "--worker-semi-space-size", "8"]);
  t.equal(seen.env.MALLOC_ARENA_MAX, "4");
  t.ok(seen.argv.includes("--max-semi-space-size=8"), seen.argv.join(" "));
  const off = await workerSees(t, ["--worker-malloc-arena-max", "0", "--worker-semi-space-size", "0"]);
  t.notOk("MALLOC_ARENA_MAX" in off.env);
  t.notOk(
    off.argv.some((arg) => arg.includes("semi-space")),
    off.argv.join(" "),
  );
});

t.test("the user's own MALLOC_ARENA_MAX wins, from tscgi's environment or from env", async (t) => {
  const launcher = await workerSees(t, [], { MALLOC_ARENA_MAX: "1" });
  t.equal(launcher.env.MALLOC_ARENA_MAX, "1", "kept even though clear_env keeps the rest out");
  const set = await workerSees(t, ["--env", "MALLOC_ARENA_MAX=3"], { MALLOC_ARENA_MAX: "1" });
  t.equal(set.env.MALLOC_ARENA_MAX, "3");
});

t.test("a semi-space size in NODE_OPTIONS or tscgi's own flags wins", async (t) => {
  const cap = { worker_malloc_arena_max: 2, worker_semi_space_size: 1 };
  t.same(workerExecArgv(cap, [], undefined), ["--max-semi-space-size=1"]);
  t.same(workerExecArgv(cap, [], "--max-old-space-size=512 --max-semi-space-size=4"), []);
  t.same(workerExecArgv(cap, ["--max_semi_space_size=4"], undefined), ["--max_semi_space_size=4"]);
  t.same(workerExecArgv(cap, ["--enable-source-maps"], ""), ["--enable-source-maps", "--max-semi-space-size=1"]);
});
