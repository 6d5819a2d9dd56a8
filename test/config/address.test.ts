// Listen addresses: HOST:PORT, [IPv6]:PORT, a bare PORT, or a Unix socket path.

import t from "tap";
import { resolve } from "node:path";
import { parseListen, parseTcpAddress, splitListen } from "../../src/config/address.ts";
import { ValueRejected } from "../../src/config/errors.ts";

const inCwd = (path: string) => resolve("/srv/app", path);

t.test("TCP forms are normalised to HOST:PORT", async (t) => {
  const cases: [string, string][] = [
    ["127.0.0.1:9000", "127.0.0.1:9000"],
    ["0.0.0.0:9000", "0.0.0.0:9000"],
    ["localhost:9000", "localhost:9000"],
    ["php-fpm.internal:9001", "php-fpm.internal:9001"],
    ["9000", "127.0.0.1:9000"],
    [" 9000 ", "127.0.0.1:9000"],
    ["[::1]:9000", "[::1]:9000"],
    ["[::]:9000", "[::]:9000"],
    ["[fe80::1%eth0]:9000", "[fe80::1%eth0]:9000"],
    ["[2001:db8::ff00:42:8329]:65535", "[2001:db8::ff00:42:8329]:65535"],
    ["127.0.0.1:1", "127.0.0.1:1"],
  ];
  for (const [text, listen] of cases) t.equal(parseListen(text, inCwd), listen, text);
});

t.test("a value with a slash is a Unix socket path, made absolute", async (t) => {
  t.equal(parseListen("/run/tscgi.sock", inCwd), "/run/tscgi.sock");
  t.equal(parseListen("./tscgi.sock", inCwd), "/srv/app/tscgi.sock");
  t.equal(parseListen("run/tscgi.sock", inCwd), "/srv/app/run/tscgi.sock");
});

t.test("a socket path longer than sun_path holds is refused", async (t) => {
  t.throws(() => parseListen("/" + "s".repeat(107), inCwd), /longer than 107 bytes/);
  t.equal(parseListen("/" + "s".repeat(106), inCwd), "/" + "s".repeat(106));
});

t.test("ports outside 1-65535, or not numbers, are refused", async (t) => {
  for (const text of ["0", "65536", "127.0.0.1:0", "127.0.0.1:65536", "[::1]:0", "127.0.0.1:http", "127.0.0.1:", "999999"]) {
    t.throws(() => parseListen(text, inCwd), ValueRejected, text);
  }
  t.throws(() => parseListen("127.0.0.1:70000", inCwd), { name: "ValueRejected", detail: "port 70000 is outside 1-65535" });
});

t.test("an unbracketed IPv6 address is refused with a hint", async (t) => {
  t.throws(() => parseListen("::1:9000", inCwd), { name: "ValueRejected", detail: "an IPv6 address needs brackets, as in [::1]:9000" });
});

t.test("malformed addresses are refused", async (t) => {
  for (const text of ["", ":9000", "host", "a b:9000", "[::1]", "[::1]9000", "[zz::1]:9000"]) {
    t.throws(() => parseTcpAddress(text), ValueRejected, JSON.stringify(text));
  }
});

t.test("splitListen gives what net.Server.listen takes", async (t) => {
  t.same(splitListen("127.0.0.1:9000"), { host: "127.0.0.1", port: 9000 });
  t.same(splitListen("[::1]:9000"), { host: "::1", port: 9000 });
  t.same(splitListen("/run/tscgi.sock"), { path: "/run/tscgi.sock" });
});
