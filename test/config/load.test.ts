// Defaults, then the config file, then the environment, then flags: the highest source wins.

import t, { type Test } from "tap";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defaults, loadConfig } from "../../src/config/load.ts";
import { parseClientList } from "../../src/config/clients.ts";

/** A working directory with cgi-bin/, plus any files given. */
function project(t: Test, files: Record<string, string> = {}): string {
  return t.testdir({ "cgi-bin": {}, ...nest(files) });
}

/** `{"conf/tscgi.conf": "x"}` -> `{conf: {"tscgi.conf": "x"}}`, as t.testdir wants. */
function nest(files: Record<string, string>): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const [path, content] of Object.entries(files)) {
    const parts = path.split("/");
    let dir = tree;
    for (const part of parts.slice(0, -1)) dir = (dir[part] ??= {}) as Record<string, unknown>;
    dir[parts.at(-1)!] = content;
  }
  return tree;
}

t.test("with no file, environment or flags, the config is the defaults", async (t) => {
  const cwd = project(t);
  const loaded = loadConfig({ argv: [], env: {}, cwd });
  t.same(loaded.config, { ...defaults, root: resolve(cwd, "cgi-bin"), templates: resolve(cwd, "templates") });
  const workers = Math.min(1024, availableParallelism());
  const maxSpare = Math.max(1, Math.ceil(workers / 2));
  t.same(loaded.config, {
    listen: "127.0.0.1:9000",
    listen_backlog: 511,
    listen_mode: 0o660,
    listen_owner: null,
    listen_group: null,
    allowed_clients: null,
    root: resolve(cwd, "cgi-bin"),
    templates: resolve(cwd, "templates"),
    mount: "/",
    extensions: [".ts", ".tsx", ".mts", ".js", ".mjs"],
    preload: [],
    index: "index",
    cgi_cache_dir: join(tmpdir(), `tscgi-cgi-${process.getuid!()}`),
    http: null,
    workers,
    pm: "static",
    pm_start_servers: 1 + Math.floor((maxSpare - 1) / 2),
    pm_min_spare_servers: 1,
    pm_max_spare_servers: maxSpare,
    pm_process_idle_timeout: 10_000,
    max_requests: 0,
    max_requests_jitter: 0,
    worker_memory_limit: 1024 ** 3,
    worker_malloc_arena_max: 2,
    worker_semi_space_size: 4,
    worker_idle_gc: 6000,
    worker_max_age: 0,
    max_inflight: 1024,
    overload_retry_after: 1000,
    respawn_backoff_max: 30_000,
    clear_env: true,
    env: [],
    status_path: null,
    status_allowed_clients: parseClientList("127.0.0.1,::1"),
    ping_path: null,
    ping_response: "pong",
    status_listen: null,
    access_log: "stdout",
    access_format: "default",
    error_log: "stderr",
    log_level: "info",
    decorate_workers_output: true,
    display_errors: false,
    slowlog: "stderr",
    request_slowlog_timeout: 0,
    max_body_size: 64 * 1024 * 1024,
    max_params_bytes: 128 * 1024,
    max_params: 1000,
    max_pending_params_bytes: 512 * 1024,
    max_requests_per_connection: 100,
    max_connections: 1024,
    params_timeout: 10_000,
    keepalive_timeout: 90_000,
    body_buffer_size: 256 * 1024,
    request_timeout: 60_000,
    request_timeout_grace: 10_000,
    shutdown_timeout: 30_000,
    dispose_timeout: 5_000,
    upload_tmp_dir: resolve(tmpdir(), "tscgi-uploads"),
    upload_max_file_size: 64 * 1024 * 1024,
    upload_max_files: 20,
    form_max_fields: 1000,
    form_max_field_size: 1024 * 1024,
    cookie_secret: [],
    session_store: "file",
    session_save_path: resolve(tmpdir(), "tscgi-sessions"),
    session_redis_url: "redis://127.0.0.1:6379",
    session_cookie: "TSCGISESSID",
    session_idle_timeout: 24 * 60_000,
    session_max_lifetime: 24 * 3_600_000,
    session_lock_timeout: 10_000,
    session_gc_probability: 0.01,
  });
  t.equal(loaded.source, null);
  t.equal(loaded.command, "serve");
  t.same(loaded.args, []);
  t.equal(loaded.help, false);
  t.equal(loaded.version, false);
  t.equal(loaded.testConfig, false);
});

t.test("the exported defaults keep root relative, as written", async (t) => {
  t.equal(defaults.root, "cgi-bin");
  t.ok(Object.isFrozen(defaults));
});

t.test("the file overrides defaults, the environment the file, flags the environment", async (t) => {
  const cwd = project(t, { "conf/tscgi.conf": "workers = 2\nlog_level = warn\nmax_body_size = 1m\nmount = /file\n" });
  const env = { TSCGI_LOG_LEVEL: "error", TSCGI_MAX_BODY_SIZE: "2m", TSCGI_MOUNT: "/env" };
  const argv = ["--max-body-size", "3m", "--mount=/flag"];
  const { config, source } = loadConfig({ argv, env, cwd });
  t.equal(source, resolve(cwd, "conf/tscgi.conf"));
  t.equal(config.workers, 2, "file over default");
  t.equal(config.log_level, "error", "environment over file");
  t.equal(config.max_body_size, 3 * 1024 ** 2, "flag over environment");
  t.equal(config.mount, "/flag", "flag over environment over file");
  t.equal(config.listen, "127.0.0.1:9000", "untouched keys keep their default");
});

t.test("--config, -c and TSCGI_CONFIG name the file; --config wins", async (t) => {
  const cwd = project(t, {
    "conf/tscgi.conf": "workers = 1\n",
    "a.conf": "workers = 2\n",
    "b.conf": "workers = 3\n",
  });
  t.equal(loadConfig({ argv: [], env: {}, cwd }).config.workers, 1, "conf/tscgi.conf by default");
  t.equal(loadConfig({ argv: [], env: { TSCGI_CONFIG: "a.conf" }, cwd }).config.workers, 2);
  t.equal(loadConfig({ argv: ["--config", "b.conf"], env: { TSCGI_CONFIG: "a.conf" }, cwd }).config.workers, 3);
  const short = loadConfig({ argv: ["-c", "b.conf"], env: {}, cwd });
  t.equal(short.config.workers, 3);
  t.equal(short.source, resolve(cwd, "b.conf"));
  t.equal(loadConfig({ argv: [], env: { TSCGI_CONFIG: "" }, cwd }).config.workers, 1, "empty counts as not given");
});

t.test("a JSON config file holds the same keys", async (t) => {
  const json = JSON.stringify({ workers: 4, extensions: [".ts", ".js"], http: null, request_timeout: 5, max_body_size: "1g" });
  const cwd = project(t, { "tscgi.json": json });
  const { config } = loadConfig({ argv: ["-c", "tscgi.json"], env: {}, cwd });
  t.equal(config.workers, 4);
  t.same(config.extensions, [".ts", ".js"]);
  t.equal(config.http, null);
  t.equal(config.request_timeout, 5000, "a bare number is seconds");
  t.equal(config.max_body_size, 1024 ** 3);
});

t.test("relative paths resolve against cwd", async (t) => {
  // Not under the checkout: a Unix socket path has at most 107 bytes, and CI clones into a long path.
  const cwd = mkdtempSync(join(tmpdir(), "tscgi-cwd-"));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  mkdirSync(join(cwd, "scripts"));
  const argv = ["--root", "scripts", "--access-log", "logs/access.log", "--listen", "./run/tscgi.sock"];
  const { config } = loadConfig({ argv, env: {}, cwd });
  t.equal(config.root, resolve(cwd, "scripts"));
  t.equal(config.access_log, resolve(cwd, "logs/access.log"));
  t.equal(config.listen, resolve(cwd, "run/tscgi.sock"));
});

t.test("positionals are the command and its arguments, kept as written", async (t) => {
  const cwd = project(t);
  const serve = loadConfig({ argv: ["serve", "--workers", "09"], env: {}, cwd });
  t.equal(serve.command, "serve");
  t.equal(serve.config.workers, 9);
  const cgi = loadConfig({ argv: ["cgi", "0700", "x.ts"], env: {}, cwd });
  t.equal(cgi.command, "cgi");
  t.same(cgi.args, ["0700", "x.ts"], "not turned into numbers");
});

t.test("--help, -h, --version, -v, --test-config and -t are booleans", async (t) => {
  const cwd = project(t);
  t.equal(loadConfig({ argv: ["--help"], env: {}, cwd }).help, true);
  t.equal(loadConfig({ argv: ["-h", "serve"], env: {}, cwd }).command, "serve", "-h takes no value");
  t.equal(loadConfig({ argv: ["-v"], env: {}, cwd }).version, true);
  t.equal(loadConfig({ argv: ["--version"], env: {}, cwd }).version, true);
  t.equal(loadConfig({ argv: ["--test-config"], env: {}, cwd }).testConfig, true);
  const short = loadConfig({ argv: ["-t", "serve"], env: {}, cwd });
  t.equal(short.testConfig, true);
  t.equal(short.command, "serve", "-t takes no value");
  t.equal(short.help, false);
  t.equal(
    loadConfig({ argv: ["-tc", "conf/none.conf"], env: {}, cwd: project(t, { "conf/none.conf": "" }) }).testConfig,
    true,
    "-t combines with -c",
  );
});

t.test("--test-config checks what serve checks: a missing root fails it", async (t) => {
  const cwd = t.testdir({});
  t.throws(() => loadConfig({ argv: ["-t"], env: {}, cwd }), { code: "TSCGI_E_CONFIG_BAD_VALUE", key: "root" });
  t.throws(
    () =>
      loadConfig({ argv: ["--test-config", "--pm", "dynamic", "--workers", "2", "--pm-min-spare-servers", "3"], env: {}, cwd: project(t) }),
    {
      code: "TSCGI_E_CONFIG_CONFLICT",
    },
  );
});

t.test("a repeated flag takes its last value", async (t) => {
  const cwd = project(t);
  t.equal(loadConfig({ argv: ["--workers", "1", "--workers", "2"], env: {}, cwd }).config.workers, 2);
});

t.test("a missing root stops serve but not cgi, help or version", async (t) => {
  const cwd = t.testdir({});
  t.throws(() => loadConfig({ argv: [], env: {}, cwd }), { code: "TSCGI_E_CONFIG_BAD_VALUE", key: "root" });
  t.equal(loadConfig({ argv: ["cgi", "x.ts"], env: {}, cwd }).command, "cgi");
  t.equal(loadConfig({ argv: ["help"], env: {}, cwd }).command, "help");
  t.equal(loadConfig({ argv: ["--version"], env: {}, cwd }).version, true);
});

t.test("loading twice gives equal, separate configs", async (t) => {
  const cwd = project(t);
  const a = loadConfig({ argv: [], env: {}, cwd }).config;
  const b = loadConfig({ argv: [], env: {}, cwd }).config;
  t.same(a, b);
  a.extensions.push(".jsx");
  t.same(b.extensions, defaults.extensions);
});
