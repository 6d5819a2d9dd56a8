// The keys of forms, uploads, cookies and sessions: their parsers, defaults, and the rules that
// tie them to root and workers.
import t from "tap";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValueRejected } from "../../src/config/errors.ts";
import { loadConfig } from "../../src/config/load.ts";
import { schema } from "../../src/config/schema.ts";
import { failure, project } from "../helpers/config.ts";

const ctx = { resolvePath: (path: string) => (path.startsWith("/") ? path : `/srv/app/${path}`) };
const SECRET = "k".repeat(32);

t.test("defaults: temporary directories under the system's, PHP-like limits and lifetimes", async (t) => {
  const { config } = loadConfig({ argv: [], env: {}, cwd: project(t) });
  t.match(config, {
    upload_tmp_dir: join(tmpdir(), "tscgi-uploads"),
    session_save_path: join(tmpdir(), "tscgi-sessions"),
    upload_max_file_size: 64 << 20,
    upload_max_files: 20,
    form_max_fields: 1000,
    form_max_field_size: 1 << 20,
    cookie_secret: [],
    session_store: "file",
    session_redis_url: "redis://127.0.0.1:6379",
    session_cookie: "TSCGISESSID",
    session_idle_timeout: 24 * 60_000,
    session_max_lifetime: 24 * 3_600_000,
    session_lock_timeout: 10_000,
    session_gc_probability: 0.01,
  });
});

t.test("directories: relative paths resolve, empty means the system's temporary directory", async (t) => {
  t.equal(schema.upload_tmp_dir.parse("var/uploads", ctx), "/srv/app/var/uploads");
  t.equal(schema.session_save_path.parse(" /var/lib/tscgi ", ctx), "/var/lib/tscgi");
  t.equal(schema.session_save_path.parse("", ctx), join(tmpdir(), "tscgi-sessions"));
});

t.test("cookie_secret is a list, newest first; a short secret is refused", async (t) => {
  t.same(schema.cookie_secret.parse("", ctx), []);
  t.same(schema.cookie_secret.parse(`${SECRET}a, ${SECRET}b ${SECRET}c`, ctx), [`${SECRET}a`, `${SECRET}b`, `${SECRET}c`]);
  t.throws(() => schema.cookie_secret.parse(`${SECRET},hunter2`, ctx), { name: "ValueRejected", detail: /7 characters is too short/ });
});

t.test("session_store, session_cookie, session_redis_url and session_gc_probability accept only their forms", async (t) => {
  t.equal(schema.session_store.parse(" Redis ", ctx), "redis");
  t.throws(() => schema.session_store.parse("files", ctx), ValueRejected);
  t.equal(schema.session_cookie.parse("__Host-sid", ctx), "__Host-sid");
  for (const bad of ["", "my session", "a=b", "sid;"])
    t.throws(() => schema.session_cookie.parse(bad, ctx), ValueRejected, JSON.stringify(bad));
  t.equal(schema.session_redis_url.parse("redis://:pw@cache:6380/2", ctx), "redis://:pw@cache:6380/2");
  t.equal(schema.session_redis_url.parse("rediss://cache", ctx), "rediss://cache");
  t.throws(() => schema.session_redis_url.parse("http://cache:6379", ctx), { name: "ValueRejected", detail: /scheme is http:/ });
  t.throws(() => schema.session_redis_url.parse("cache:6379", ctx), ValueRejected);
  t.equal(schema.session_gc_probability.parse("0.1%", ctx), 0.001);
  t.equal(schema.session_gc_probability.parse("0%", ctx), 0);
  t.throws(() => schema.session_gc_probability.parse("150%", ctx), { name: "ValueRejected", detail: /at most 100%/ });
  t.throws(() => schema.session_gc_probability.parse("0.01", ctx), ValueRejected, "a percentage, with its sign");
});

t.test("a bad value names the key, the value and what is allowed", async (t) => {
  const error = failure(() => loadConfig({ argv: ["--session-store", "disk"], env: {}, cwd: project(t) }));
  t.match(error, {
    code: "TSCGI_E_CONFIG_BAD_VALUE",
    message: /session_store in flag --session-store: "disk" \(expected one of file, redis, memory\)/,
  });
});

t.test("the memory store is refused for a pool of more than one worker", async (t) => {
  const error = failure(() => loadConfig({ argv: ["--session-store", "memory", "--workers", "2"], env: {}, cwd: project(t) }));
  t.match(error, {
    code: "TSCGI_E_CONFIG_CONFLICT",
    keys: ["session_store", "workers"],
    message: /session_store = memory only with workers = 0 or 1/,
  });
  for (const workers of ["0", "1"]) {
    t.equal(
      loadConfig({ argv: ["--session-store", "memory", "--workers", workers], env: {}, cwd: project(t) }).config.session_store,
      "memory",
    );
  }
});

t.test("upload_tmp_dir and session_save_path inside root are refused", async (t) => {
  for (const key of ["upload_tmp_dir", "session_save_path"]) {
    const cwd = project(t);
    const error = failure(() => loadConfig({ argv: [`--${key.replaceAll("_", "-")}`, "cgi-bin/tmp"], env: {}, cwd }));
    t.match(error, { code: "TSCGI_E_CONFIG_CONFLICT", keys: [key, "root"] }, key);
    const beside = loadConfig({ argv: [`--${key.replaceAll("_", "-")}`, "cgi-bin-tmp"], env: {}, cwd }).config;
    t.equal(beside[key as "upload_tmp_dir"], join(cwd, "cgi-bin-tmp"), "a sibling whose name starts the same is fine");
  }
});
