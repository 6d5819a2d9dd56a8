// Each key's own parser: extensions, mount, index, http, logs, levels, whole numbers.

import t from "tap";
import { ValueRejected } from "../../src/config/errors.ts";
import { schema } from "../../src/config/schema.ts";

const ctx = { resolvePath: (path: string) => (path.startsWith("/") ? path : `/srv/app/${path}`) };

t.test("extensions are a comma-separated list of known script extensions", async (t) => {
  t.same(schema.extensions.parse(".ts", ctx), [".ts"]);
  t.same(schema.extensions.parse(" .ts , .jsx,.cts ", ctx), [".ts", ".jsx", ".cts"]);
  t.same(schema.extensions.parse(".ts,.ts,.js,", ctx), [".ts", ".js"], "duplicates and empty items dropped");
  t.throws(() => schema.extensions.parse(".ts,.php", ctx), { name: "ValueRejected", detail: '".php" is not one of them' });
  t.throws(() => schema.extensions.parse("ts", ctx), ValueRejected, "the dot is required");
  t.throws(() => schema.extensions.parse(" , ", ctx), { name: "ValueRejected", detail: "the list is empty" });
});

t.test("mount starts with / and loses trailing and doubled slashes", async (t) => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["//", "/"],
    ["/app", "/app"],
    ["/app/", "/app"],
    ["/app//api/", "/app/api"],
  ];
  for (const [text, mount] of cases) t.equal(schema.mount.parse(text, ctx), mount, text);
  t.throws(() => schema.mount.parse("app", ctx), { name: "ValueRejected", detail: "it must start with /" });
  t.throws(() => schema.mount.parse("/a/../b", ctx), { name: "ValueRejected", detail: "it must not contain . or .. segments" });
  t.throws(() => schema.mount.parse("/a?b", ctx), ValueRejected);
});

t.test("index is a bare file name", async (t) => {
  t.equal(schema.index.parse("index", ctx), "index");
  t.equal(schema.index.parse("default-page", ctx), "default-page");
  for (const text of ["", "index.ts", "a/b", "_index", ".index"]) {
    t.throws(() => schema.index.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
});

t.test("http is an address, or off", async (t) => {
  t.equal(schema.http.parse("off", ctx), null);
  t.equal(schema.http.parse("OFF", ctx), null);
  t.equal(schema.http.parse("", ctx), null);
  t.equal(schema.http.parse("8080", ctx), "127.0.0.1:8080");
  t.equal(schema.http.parse("[::1]:8080", ctx), "[::1]:8080");
  t.throws(() => schema.http.parse("/tmp/http.sock", ctx), ValueRejected, "TCP only");
});

t.test("log targets are keywords or paths made absolute", async (t) => {
  t.equal(schema.access_log.parse("off", ctx), "off");
  t.equal(schema.access_log.parse("STDERR", ctx), "stderr");
  t.equal(schema.access_log.parse("logs/access.log", ctx), "/srv/app/logs/access.log");
  t.equal(schema.access_log.parse("./stdout", ctx), "/srv/app/./stdout");
  t.throws(() => schema.access_log.parse(" ", ctx), { name: "ValueRejected", detail: "it is empty" });
  t.equal(schema.error_log.parse("stdout", ctx), "stdout");
  t.equal(schema.error_log.parse("/var/log/tscgi.log", ctx), "/var/log/tscgi.log");
  t.throws(() => schema.error_log.parse("off", ctx), /cannot be turned off/);
});

t.test("log_level is one of four", async (t) => {
  for (const level of ["error", "warn", "info", "debug"]) t.equal(schema.log_level.parse(level, ctx), level);
  t.equal(schema.log_level.parse("DEBUG", ctx), "debug");
  t.throws(() => schema.log_level.parse("warning", ctx), ValueRejected);
});

t.test("whole numbers keep to their range and are read as decimal", async (t) => {
  t.equal(schema.workers.parse("0", ctx), 0);
  t.equal(schema.workers.parse("09", ctx), 9, "a leading zero is not octal");
  t.equal(schema.workers.parse("1024", ctx), 1024);
  t.throws(() => schema.workers.parse("1025", ctx), { name: "ValueRejected", detail: "1025 is out of range" });
  for (const text of ["-1", "1.5", "", "four", "1e3"]) {
    t.throws(() => schema.workers.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
  t.throws(() => schema.max_params.parse("0", ctx), ValueRejected);
  t.equal(schema.max_requests_per_connection.parse("65535", ctx), 65535);
  t.throws(() => schema.max_requests_per_connection.parse("65536", ctx), ValueRejected, "16-bit request ids");
});

t.test("sizes other than max_body_size must be at least 1 byte", async (t) => {
  t.equal(schema.max_body_size.parse("0", ctx), 0, "0 = unlimited");
  t.throws(() => schema.body_buffer_size.parse("0", ctx), { name: "ValueRejected", detail: "it must be at least 1" });
  t.equal(schema.max_params_bytes.parse("128k", ctx), 131072);
});

t.test("workers is auto (one per CPU, at most 1024) or a whole number", async (t) => {
  const { availableParallelism } = await import("node:os");
  t.equal(schema.workers.parse("auto", ctx), Math.min(1024, availableParallelism()));
  t.equal(schema.workers.parse(" AUTO ", ctx), Math.min(1024, availableParallelism()));
  t.throws(() => schema.workers.parse("automatic", ctx), ValueRejected);
});

t.test("pm is static, dynamic or ondemand", async (t) => {
  for (const pm of ["static", "dynamic", "ondemand"]) t.equal(schema.pm.parse(pm, ctx), pm);
  t.equal(schema.pm.parse(" Dynamic ", ctx), "dynamic");
  t.throws(() => schema.pm.parse("on-demand", ctx), ValueRejected);
  t.throws(() => schema.pm.parse("", ctx), ValueRejected);
});

t.test("spare-server counts take auto where PHP-FPM computes a default", async (t) => {
  t.equal(schema.pm_start_servers.parse("auto", ctx), "auto");
  t.equal(schema.pm_max_spare_servers.parse("Auto", ctx), "auto");
  t.equal(schema.pm_start_servers.parse("3", ctx), 3);
  t.throws(() => schema.pm_start_servers.parse("0", ctx), { name: "ValueRejected", detail: "0 is out of range" });
  t.throws(() => schema.pm_min_spare_servers.parse("auto", ctx), ValueRejected, "the minimum has a plain default");
  t.throws(() => schema.pm_min_spare_servers.parse("0", ctx), ValueRejected);
  t.equal(schema.pm_min_spare_servers.parse("1024", ctx), 1024);
  t.throws(() => schema.pm_max_spare_servers.parse("1025", ctx), ValueRejected);
  t.equal(schema.pm_max_spare_servers.allowed, "auto or a whole number from 1 to 1024");
});

t.test("pm_process_idle_timeout is a duration above 0", async (t) => {
  t.equal(schema.pm_process_idle_timeout.parse("10s", ctx), 10_000);
  t.equal(schema.pm_process_idle_timeout.parse("1ms", ctx), 1);
  t.throws(() => schema.pm_process_idle_timeout.parse("0", ctx), { name: "ValueRejected", detail: "it must be more than 0" });
  t.throws(() => schema.pm_process_idle_timeout.parse("soon", ctx), ValueRejected);
});

t.test("max_requests_jitter is a count of requests or a percentage", async (t) => {
  t.same(schema.max_requests_jitter.parse("10%", ctx), { amount: 10, percent: true });
  t.same(schema.max_requests_jitter.parse(" 2.5% ", ctx), { amount: 2.5, percent: true });
  t.same(schema.max_requests_jitter.parse("100%", ctx), { amount: 100, percent: true });
  t.same(schema.max_requests_jitter.parse("0", ctx), { amount: 0, percent: false });
  t.same(schema.max_requests_jitter.parse("50", ctx), { amount: 50, percent: false });
  t.throws(() => schema.max_requests_jitter.parse("101%", ctx), { name: "ValueRejected", detail: "a percentage is at most 100%" });
  t.throws(() => schema.max_requests_jitter.parse("1.5", ctx), { name: "ValueRejected", detail: "a number of requests is a whole number" });
  for (const text of ["", "%", "-1", "10 %", "ten", "1e3"]) {
    t.throws(() => schema.max_requests_jitter.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
});

t.test("pool limits: max_requests from 0, max_inflight from 1, sizes and durations with 0 = off", async (t) => {
  t.equal(schema.max_requests.parse("0", ctx), 0);
  t.equal(schema.max_requests.parse("500", ctx), 500);
  t.throws(() => schema.max_inflight.parse("0", ctx), ValueRejected);
  t.equal(schema.max_inflight.parse("1", ctx), 1);
  t.equal(schema.worker_memory_limit.parse("0", ctx), 0);
  t.equal(schema.worker_memory_limit.parse("512m", ctx), 512 * 1024 ** 2);
  t.equal(schema.worker_max_age.parse("1h", ctx), 3_600_000);
  t.equal(schema.overload_retry_after.parse("1500ms", ctx), 1500);
  t.equal(schema.respawn_backoff_max.parse("0", ctx), 0);
  t.equal(schema.request_slowlog_timeout.parse("5s", ctx), 5000);
});

t.test("listen_backlog is 1 to 65535", async (t) => {
  t.equal(schema.listen_backlog.parse("511", ctx), 511);
  t.equal(schema.listen_backlog.parse("65535", ctx), 65535);
  t.throws(() => schema.listen_backlog.parse("0", ctx), ValueRejected);
  t.throws(() => schema.listen_backlog.parse("65536", ctx), ValueRejected);
  t.throws(() => schema.listen_backlog.parse("-1", ctx), ValueRejected, "PHP-FPM's -1 is not taken");
});

t.test("listen_mode is octal however it is written, up to 0777", async (t) => {
  const cases: [string, number][] = [
    ["0660", 0o660],
    ["660", 0o660],
    ["0o660", 0o660],
    ["0O660", 0o660],
    ["0o0660", 0o660],
    ["0777", 0o777],
    ["777", 0o777],
    ["0", 0],
    ["600", 0o600],
    [" 0666 ", 0o666],
    ["7", 0o7],
  ];
  for (const [text, mode] of cases) t.equal(schema.listen_mode.parse(text, ctx), mode, text);
  t.throws(() => schema.listen_mode.parse("1777", ctx), {
    name: "ValueRejected",
    detail: "the setuid, setgid and sticky bits are not allowed",
  });
  t.throws(() => schema.listen_mode.parse("4755", ctx), ValueRejected);
  for (const text of ["", "0668", "rw-rw----", "0x1b6", "0o", "06600", "-660", "u+rw"]) {
    t.throws(() => schema.listen_mode.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
});

t.test("listen_owner and listen_group: empty, a numeric id, or a name to look up", async (t) => {
  t.equal(schema.listen_owner.parse("", ctx), null);
  t.equal(schema.listen_owner.parse("  ", ctx), null);
  t.equal(schema.listen_owner.parse("0", ctx), 0);
  t.equal(schema.listen_group.parse("33", ctx), 33);
  t.equal(schema.listen_owner.parse("www-data", ctx), "www-data", "names wait for the check");
  t.equal(schema.listen_owner.parse("svc.app_1", ctx), "svc.app_1");
  t.equal(schema.listen_owner.parse("host$", ctx), "host$");
  t.equal(schema.listen_owner.parse("4294967294", ctx), 4294967294);
  t.throws(() => schema.listen_owner.parse("4294967295", ctx), /above the largest id/);
  for (const text of ["www data", "-user", "user:group", "1user", "a/b"]) {
    t.throws(() => schema.listen_owner.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
  t.equal(schema.listen_owner.check!(0), 0, "an id is taken as it is");
  t.equal(schema.listen_owner.check!(null), null);
  t.equal(schema.listen_owner.check!("root"), 0, "root is uid 0 in /etc/passwd");
  t.equal(schema.listen_group.check!("root"), 0, "root is gid 0 in /etc/group");
  t.throws(() => schema.listen_owner.check!("no-such-user-tscgi"), {
    name: "ValueRejected",
    detail: "no user named no-such-user-tscgi in /etc/passwd",
  });
  t.throws(() => schema.listen_group.check!("no-such-group-tscgi"), {
    name: "ValueRejected",
    detail: "no group named no-such-group-tscgi in /etc/group",
  });
});

t.test("client lists are any or addresses", async (t) => {
  t.equal(schema.allowed_clients.parse("any", ctx), null);
  t.same(schema.status_allowed_clients.parse("127.0.0.1,::1", ctx)?.entries, ["127.0.0.1", "::1"]);
  t.throws(() => schema.allowed_clients.parse("localhost", ctx), /not an IPv4 or IPv6 address/);
});

t.test("status_path and ping_path are off or a path", async (t) => {
  t.equal(schema.status_path.parse("off", ctx), null);
  t.equal(schema.ping_path.parse("OFF", ctx), null);
  t.equal(schema.status_path.parse("/status", ctx), "/status");
  t.equal(schema.ping_path.parse(" /fpm/ping ", ctx), "/fpm/ping");
  t.throws(() => schema.status_path.parse("status", ctx), { name: "ValueRejected", detail: "it must start with /" });
  t.throws(() => schema.status_path.parse("", ctx), ValueRejected);
  for (const text of ["/st atus", "/status?full", "/a#b", "/%41", "/a\\b"]) {
    t.throws(() => schema.status_path.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
  t.equal(schema.ping_response.parse("pong", ctx), "pong");
  t.equal(schema.ping_response.parse("OK ", ctx), "OK ", "taken as written");
});

t.test("access_format is default, json, or PHP-FPM tokens", async (t) => {
  t.equal(schema.access_format.parse("default", ctx), "default");
  t.equal(schema.access_format.parse(" JSON ", ctx), "json");
  const fpm = '%R - %u %t "%m %r%Q%q" %s %f %{mili}d %{kilo}M %C%%';
  t.equal(schema.access_format.parse(fpm, ctx), fpm, "a format is kept as written");
  t.throws(() => schema.access_format.parse("%R %x", ctx), { name: "ValueRejected", detail: /unknown token %x; the tokens are %% %C %d/ });
  t.throws(() => schema.access_format.parse("", ctx), ValueRejected);
});

t.test("decorate_workers_output is yes or no", async (t) => {
  for (const text of ["yes", "YES", "on", "true", "1"]) t.equal(schema.decorate_workers_output.parse(text, ctx), true, text);
  for (const text of ["no", "Off", "false", "0"]) t.equal(schema.decorate_workers_output.parse(text, ctx), false, text);
  for (const text of ["", "y", "2", "enabled"]) {
    t.throws(() => schema.decorate_workers_output.parse(text, ctx), ValueRejected, JSON.stringify(text));
  }
});

t.test("slowlog is a log target that cannot be turned off by name", async (t) => {
  t.equal(schema.slowlog.parse("stderr", ctx), "stderr");
  t.equal(schema.slowlog.parse("STDOUT", ctx), "stdout");
  t.equal(schema.slowlog.parse("logs/slow.log", ctx), "/srv/app/logs/slow.log");
  t.throws(() => schema.slowlog.parse("off", ctx), { name: "ValueRejected", detail: /request_slowlog_timeout = 0/ });
});

t.test("env is a list of names and NAME=value settings", async (t) => {
  t.same(schema.env.parse("", ctx), []);
  t.same(schema.env.parse(" DATABASE_URL , APP_MODE = live and well ,TZ", ctx), [
    ["DATABASE_URL", null],
    ["APP_MODE", "live and well"],
    ["TZ", null],
  ]);
  t.same(schema.env.parse("EMPTY=,URL=a=b", ctx), [
    ["EMPTY", ""],
    ["URL", "a=b"],
  ]);
  t.throws(() => schema.env.parse("A,1B", ctx), { name: "ValueRejected", detail: /"1B" is not a variable name/ });
  t.throws(() => schema.env.parse("A=1,A", ctx), { name: "ValueRejected", detail: "A is named twice" });
  t.throws(() => schema.env.parse("=x", ctx), ValueRejected);
});
