// The stores a worker builds from its config.
import t from "tap";
import { createRequire } from "node:module";
import { defaults } from "../../src/config/load.ts";
import {
  createFormParser,
  createSessionStore,
  formLimits,
  sessionRules,
  staleLockMs,
  STALE_LOCK_WITHOUT_REQUEST_TIMEOUT_MS,
} from "../../src/stores/from-config.ts";
import { FileSessionStore } from "../../src/stores/session-file.ts";
import { MemorySessionStore } from "../../src/stores/session-memory.ts";
import { RedisSessionStore } from "../../src/stores/session-redis.ts";

t.test("session_store picks the store; a lock is stale after request_timeout", async (t) => {
  const file = createSessionStore({ ...defaults, session_save_path: "/srv/sessions" });
  t.type(file, FileSessionStore);
  t.equal((file as FileSessionStore).dir, "/srv/sessions");
  t.type(createSessionStore({ ...defaults, session_store: "memory" }), MemorySessionStore);
  const redis = createSessionStore({ ...defaults, session_store: "redis" });
  t.type(redis, RedisSessionStore);
  await redis.close();
  t.equal(staleLockMs({ request_timeout: 60_000 }), 60_000);
  t.equal(staleLockMs({ request_timeout: 0 }), STALE_LOCK_WITHOUT_REQUEST_TIMEOUT_MS);
});

t.test("limits and rules come from their keys", async (t) => {
  t.same(formLimits(defaults), { maxFileSize: 64 << 20, maxFiles: 20, maxFields: 1000, maxFieldSize: 1 << 20, maxBodySize: 64 << 20 });
  t.same(sessionRules(defaults), { idleTimeout: 24 * 60_000, maxLifetime: 24 * 3_600_000, lockTimeout: 10_000, gcProbability: 0.01 });
  t.equal(createFormParser({ upload_tmp_dir: "/srv/up" }).tmpDir, "/srv/up");
});

t.test("ioredis and busboy are loaded only when a store or a form needs them", async (t) => {
  const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((path) => /\/(ioredis|@fastify\/busboy)\//.test(path));
  const store = createSessionStore({ ...defaults, session_store: "redis", session_redis_url: "redis://127.0.0.1:1" });
  createFormParser({ upload_tmp_dir: "/nonexistent" });
  t.same(loaded(), [], "a worker that builds its stores has loaded neither");
  await store.close();
  // A urlencoded body is parsed without busboy; the first multipart one loads it.
  const parser = createFormParser({ upload_tmp_dir: "/nonexistent" });
  const body = (text: string) =>
    (async function* () {
      yield new TextEncoder().encode(text);
    })();
  await parser.parse({ contentType: "application/x-www-form-urlencoded", body: body("a=1"), limits: formLimits(defaults) });
  t.same(loaded(), [], "a urlencoded form does not load busboy");
  const multipart = '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n';
  const parsed = await parser.parse({
    contentType: "multipart/form-data; boundary=b",
    body: body(multipart),
    limits: formLimits(defaults),
  });
  await parsed.cleanup();
  t.ok(
    loaded().some((path) => path.includes("busboy")),
    "the first multipart form loads busboy",
  );
});
