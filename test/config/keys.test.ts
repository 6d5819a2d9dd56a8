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
