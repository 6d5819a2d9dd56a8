// Sessions in Redis through real nginx and tscgi processes: one session shared by two tscgi
// instances (two hosts behind a balancer), and gone once Redis expires it.
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { nginxMissing, startNginx, type Nginx } from "../helpers/nginx.ts";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis.ts";
import { startTscgi, type TscgiProcess } from "../helpers/tscgi.ts";

const COUNT = [
  'import type { Cgi } from "tscgi";',
  "export default async (cgi: Cgi) => {",
  "  const s = await cgi.session<{ n: number }>();",
  '  const n = (s.get("n") ?? 0) + 1;',
  '  s.set("n", n);',
  "  return { n };",
  "};",
  "",
].join("\n");

const missing = nginxMissing() || redisMissing();
if (missing) {
  t.pass("skipped: " + missing);
} else {
  const work = mkdtempSync(join(tmpdir(), "tscgi-redis-e2e-"));
  const root = join(work, "cgi-bin");
  mkdirSync(root);
  writeFileSync(join(root, "count.ts"), COUNT);
  let redis: RedisServer;
  let client: Redis;
  const fronts: Array<{ tscgi: TscgiProcess; nginx: Nginx }> = [];
  t.before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    for (let i = 0; i < 2; i++) {
      const tscgi = await startTscgi(["--root", root, "--workers", "1", "--session-store", "redis", "--session-redis-url", redis.url]);
      fronts.push({ tscgi, nginx: await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`) });
    }
  });
  t.teardown(async () => {
    for (const { tscgi, nginx } of fronts) {
      await nginx.stop();
      await tscgi.stop();
    }
    client?.disconnect();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const count = async (front: number, cookie?: string) => {
    const res = await fetch(`${fronts[front].nginx.url}/count`, { headers: cookie === undefined ? {} : { cookie } });
    const setCookie = res.headers.getSetCookie()[0]?.split(";")[0];
    return { n: ((await res.json()) as { n: number }).n, setCookie };
  };

  t.test("one session, two tscgi instances sharing Redis", async (t) => {
    const first = await count(0);
    t.equal(first.n, 1);
    const cookie = first.setCookie;
    t.match(cookie, /^TSCGISESSID=[\w-]+$/);
    t.equal((await count(1, cookie)).n, 2, "the other instance sees it");
    t.equal((await count(0, cookie)).n, 3);
    t.equal((await count(1, cookie)).n, 4);
    const id = cookie.slice(cookie.indexOf("=") + 1);
    const ttl = await client.pttl(`tscgi:sess:${id}`);
    t.ok(ttl > 0 && ttl <= 24 * 60 * 1000, `Redis expires it after session_idle_timeout (${ttl} ms left)`);
  });

  t.test("an expired session starts afresh with a new id", async (t) => {
    const first = await count(1);
    const cookie = first.setCookie;
    t.equal((await count(0, cookie)).n, 2);
    const id = cookie.slice(cookie.indexOf("=") + 1);
    // What Redis does when the idle timeout passes, without waiting for it.
    t.equal(await client.expire(`tscgi:sess:${id}`, 0), 1);
    const after = await count(0, cookie);
    t.equal(after.n, 1, "the data went with it");
    t.not(after.setCookie, cookie, "a new id");
  });
}
