// cgi_cache_dir: a compile is kept and read back, keyed by file, source, options and version; a
// directory this user does not own alone is never read from, since its files run as code.
import t, { type Test } from "tap";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCompileCache } from "../../src/scripts/disk-cache.ts";

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-disk-cache-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("a compile is done once, then read back; any change to its key compiles again", async (t) => {
  const dir = join(scratch(t), "cache");
  let compiles = 0;
  const compiler = async (_file: string, source: string) => `/* ${++compiles} */ ${source}`;
  const cache = DiskCompileCache.open(dir, "1.0.0", compiler);
  if (typeof cache === "string") throw new Error(cache);
  t.equal(statSync(dir).mode & 0o777, 0o700, "made owner-only");
  t.equal(await cache.compiler("/s/a.ts", "A", {}), "/* 1 */ A");
  t.equal(await cache.compiler("/s/a.ts", "A", {}), "/* 1 */ A", "read back, not compiled");
  const again = DiskCompileCache.open(dir, "1.0.0", compiler) as DiskCompileCache;
  t.equal(await again.compiler("/s/a.ts", "A", {}), "/* 1 */ A", "by the next process too");
  t.equal(await cache.compiler("/s/a.ts", "B", {}), "/* 2 */ B", "a new source");
  t.equal(await cache.compiler("/s/b.ts", "A", {}), "/* 3 */ A", "another file");
  t.equal(await cache.compiler("/s/a.ts", "A", { scriptConsole: true }), "/* 4 */ A", "other options");
  const upgraded = DiskCompileCache.open(dir, "1.0.1", compiler) as DiskCompileCache;
  t.equal(await upgraded.compiler("/s/a.ts", "A", {}), "/* 5 */ A", "another tscgi version");
  t.equal(compiles, 5);
});

t.test("a directory others may write to, or another user's, is not used", async (t) => {
  const open = scratch(t);
  chmodSync(open, 0o777);
  t.match(
    DiskCompileCache.open(open, "1", async () => ""),
    /may be written by others/,
  );
  if (process.getuid?.() !== 0) return;
  const theirs = join(scratch(t), "theirs");
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, 65534, 65534);
  t.match(
    DiskCompileCache.open(theirs, "1", async () => ""),
    /belongs to uid 65534/,
  );
});
