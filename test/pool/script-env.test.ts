// clear_env and env: a secret in the environment tscgi starts with is invisible to scripts unless
// env names it, in a pool's workers and in the single process; clear_env = no passes it all on.
import t, { type Test } from "tap";
import { scriptEnv } from "../../src/pool/script-env.ts";
import { getFresh } from "../helpers/http.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const root = `${repo}test/fixtures/cgi-bin`;
const launcher = { LAUNCHER_SECRET: "s3cret", DATABASE_URL: "postgres://db/app", APP_MODE: "from-launcher" };
const names = "LAUNCHER_SECRET,DATABASE_URL,APP_MODE,PATH";

async function scriptSees(t: Test, args: string[]): Promise<Record<string, string>> {
  const tscgi = await startTscgi(["--root", root, ...args], { env: launcher });
  t.teardown(() => tscgi.stop());
  const res = await getFresh(`http://127.0.0.1:${tscgi.httpPort}/process-env?names=${names}`);
  t.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Record<string, string>;
}

t.test("workers: only what env names, besides what any program needs", async (t) => {
  const seen = await scriptSees(t, ["--workers", "1", "--env", "DATABASE_URL, APP_MODE=live"]);
  t.notOk("LAUNCHER_SECRET" in seen, "the launcher's secret stays out");
  t.equal(seen.DATABASE_URL, "postgres://db/app", "a bare name passes the launcher's value on");
  t.equal(seen.APP_MODE, "live", "NAME=value sets it");
  t.equal(seen.PATH, process.env.PATH, "PATH is kept");
});

t.test("workers start with the allocator settings tscgi was started with", async (t) => {
  const tscgi = await startTscgi(["--root", root, "--workers", "1"], {
    env: { ...launcher, MALLOC_TRIM_THRESHOLD_: "16777216", MALLOC_MMAP_THRESHOLD_: "4194304" },
  });
  t.teardown(() => tscgi.stop());
  const res = await getFresh(
    `http://127.0.0.1:${tscgi.httpPort}/process-env?names=MALLOC_TRIM_THRESHOLD_,MALLOC_MMAP_THRESHOLD_,LAUNCHER_SECRET`,
  );
  t.equal(res.status, 200, res.body);
  t.same(JSON.parse(res.body), { MALLOC_TRIM_THRESHOLD_: "16777216", MALLOC_MMAP_THRESHOLD_: "4194304" });
});

t.test("the single process narrows its own environment the same way", async (t) => {
  const seen = await scriptSees(t, ["--workers", "0"]);
  t.notOk("LAUNCHER_SECRET" in seen);
  t.notOk("DATABASE_URL" in seen, "nothing passes unless named");
  t.equal(seen.PATH, process.env.PATH);
});

t.test("clear_env = no passes the whole environment on; env still sets values", async (t) => {
  const seen = await scriptSees(t, ["--workers", "1", "--clear-env", "no", "--env", "APP_MODE=live"]);
  t.equal(seen.LAUNCHER_SECRET, "s3cret");
  t.equal(seen.APP_MODE, "live");
});

t.test("scriptEnv keeps the locale, the allocator's settings and Node's own variables, and only those", async (t) => {
  const from = { PATH: "/bin", LC_ALL: "C.UTF-8", NODE_OPTIONS: "--max-old-space-size=512", NODE_AUTH_TOKEN: "npm", AWS_SECRET: "x" };
  t.same(
    { ...scriptEnv({ clear_env: true, env: [] }, from) },
    { PATH: "/bin", LC_ALL: "C.UTF-8", NODE_OPTIONS: "--max-old-space-size=512" },
  );
  // glibc reads these when the worker starts: the upload tuning in pool.md's "Memory after a load".
  const allocator = {
    MALLOC_TRIM_THRESHOLD_: "16777216",
    MALLOC_MMAP_THRESHOLD_: "4194304",
    GLIBC_TUNABLES: "glibc.malloc.tcache_count=0",
    MALLOCX: "no",
    MY_MALLOC_TRIM: "no",
  };
  t.same(
    { ...scriptEnv({ clear_env: true, env: [] }, { PATH: "/bin", ...allocator }) },
    { PATH: "/bin", MALLOC_TRIM_THRESHOLD_: "16777216", MALLOC_MMAP_THRESHOLD_: "4194304", GLIBC_TUNABLES: "glibc.malloc.tcache_count=0" },
  );
  t.same(
    {
      ...scriptEnv(
        {
          clear_env: true,
          env: [
            ["MISSING", null],
            ["PATH", "/usr/bin"],
          ],
        },
        from,
      ),
    },
    {
      PATH: "/usr/bin",
      LC_ALL: "C.UTF-8",
      NODE_OPTIONS: "--max-old-space-size=512",
    },
  );
});
