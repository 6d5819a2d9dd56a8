// The FastCGI client behind `tscgi ping` / `tscgi status`, against our own Connection as the server.
import t, { type Test } from "tap";
import { createServer, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientConnectError, ClientProtocolError, ClientTimeoutError } from "../../src/client/errors.ts";
import { FastCgiClient, clientTarget, describeTarget, parseCgiResponse } from "../../src/client/fastcgi-client.ts";
import { FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, ProtocolStatus } from "../../src/fastcgi/constants.ts";
import { freePort } from "../helpers/ports.ts";
import { scaled } from "../helpers/time.ts";
import { respond, startResponder } from "./responder.ts";

t.test("listen values become connect targets; wildcards are reached on loopback", async (t) => {
  t.same(clientTarget("127.0.0.1:9000"), { host: "127.0.0.1", port: 9000 });
  t.same(clientTarget("9000"), { host: "127.0.0.1", port: 9000 });
  t.same(clientTarget("0.0.0.0:9000"), { host: "127.0.0.1", port: 9000 });
  t.same(clientTarget("*:9000"), { host: "127.0.0.1", port: 9000 });
  t.same(clientTarget("[::]:9000"), { host: "::1", port: 9000 });
  t.same(clientTarget("[0:0:0:0:0:0:0:0]:9000"), { host: "::1", port: 9000 });
  t.same(clientTarget("[::1]:9000"), { host: "::1", port: 9000 });
  t.same(clientTarget("[fe80::1%eth0]:9000"), { host: "fe80::1%eth0", port: 9000 });
  t.same(clientTarget("app.internal:9000"), { host: "app.internal", port: 9000 });
  t.same(clientTarget("/run/tscgi/tscgi.sock"), { path: "/run/tscgi/tscgi.sock" });
  t.throws(() => clientTarget("localhost"), /not a listen address/);
  t.throws(() => clientTarget("localhost:99999"), /no valid port/);
  t.equal(describeTarget({ host: "::1", port: 9000 }), "[::1]:9000");
  t.equal(describeTarget({ host: "127.0.0.1", port: 9000 }), "127.0.0.1:9000");
  t.equal(describeTarget({ path: "/run/x.sock" }), "unix:/run/x.sock");
});

t.test("CGI responses are split into status, headers and body", async (t) => {
  const r = parseCgiResponse(Buffer.from("Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-A: 1\r\n\r\nno\r\n\r\nsuch"));
  t.equal(r.status, 404);
  t.equal(r.statusText, "Not Found");
  t.same(r.headers, [
    ["Status", "404 Not Found"],
    ["Content-Type", "text/plain"],
    ["X-A", "1"],
  ]);
  t.equal(r.header("content-type"), "text/plain");
  t.equal(r.body.toString(), "no\r\n\r\nsuch");
  t.equal(parseCgiResponse(Buffer.from("Content-Type: text/plain\n\nbody")).status, 200, "no Status: 200; bare LF lines");
  t.equal(parseCgiResponse(Buffer.from("Location: http://x/\r\n\r\n")).status, 302, "Location alone is a redirect");
  t.equal(parseCgiResponse(Buffer.from("\r\n\r\nbody")).body.toString(), "body", "an empty head");
  t.throws(() => parseCgiResponse(Buffer.from("just a body")), ClientProtocolError);
  t.throws(() => parseCgiResponse(Buffer.from("Status: abc\r\n\r\n")), /malformed Status/);
  t.throws(() => parseCgiResponse(Buffer.from("no colon\r\n\r\n")), /malformed CGI header/);
});

t.test("a request over TCP: params sent, STDOUT and STDERR collected until END_REQUEST", async (t) => {
  const server = await startResponder("127.0.0.1", (request) => {
    request.writeStderr(Buffer.from("a warning"));
    void request.writeStdout(Buffer.from("Status: 200 OK\r\n"));
    respond(request, "200 OK", "x".repeat(100_000));
  });
  t.teardown(server.close);
  const client = new FastCgiClient(server.listen, { timeout: scaled(2000) });
  const big = "v".repeat(70_000);
  const reply = await client.request({ REQUEST_METHOD: "GET", SCRIPT_NAME: "/x", BIG: big });
  t.equal(server.requests[0].SCRIPT_NAME, "/x");
  t.equal(server.requests[0].BIG, big, "a PARAMS stream longer than one record is split and rejoined");
  t.equal(reply.stderr.toString(), "a warning");
  t.equal(reply.appStatus, 0);
  t.ok(reply.stdout.toString().endsWith("x".repeat(100_000)), "a body longer than one record arrives whole");
});

t.test("a request body is sent as STDIN", async (t) => {
  const server = await startResponder("127.0.0.1", (request) => {
    void (async () => {
      const parts: Uint8Array[] = [];
      for (let chunk = await request.readStdin(); chunk !== null; chunk = await request.readStdin()) parts.push(chunk);
      respond(request, "200 OK", Buffer.concat(parts));
    })();
  });
  t.teardown(server.close);
  const reply = await new FastCgiClient(server.listen, { timeout: scaled(2000) }).request({ REQUEST_METHOD: "POST" }, Buffer.from("hello"));
  t.equal(parseCgiResponse(reply.stdout).body.toString(), "hello");
});

t.test("a request over a Unix socket", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-client-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startResponder(join(dir, "fcgi.sock"), (request) => respond(request, "200 OK", "via unix"));
  t.teardown(server.close);
  const client = new FastCgiClient(server.listen, { timeout: scaled(2000) });
  t.equal(client.address, `unix:${join(dir, "fcgi.sock")}`);
  t.equal(parseCgiResponse((await client.request({})).stdout).body.toString(), "via unix");
});

/** Some containers have no ::1; the IPv6 test is skipped there rather than failed. */
const ipv6 = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once("error", () => resolve(false));
  probe.listen(0, "::1", () => probe.close(() => resolve(true)));
});

t.test("a request over IPv6 loopback", { skip: ipv6 ? false : "no IPv6 loopback on this machine" }, async (t) => {
  const server = await startResponder("::1", (request) => respond(request, "200 OK", "via v6"));
  t.teardown(server.close);
  t.match(server.listen, /^\[::1\]:\d+$/);
  const reply = await new FastCgiClient(server.listen, { timeout: scaled(2000) }).request({});
  t.equal(parseCgiResponse(reply.stdout).body.toString(), "via v6");
});

t.test("a server bound to 0.0.0.0 is reached on 127.0.0.1", async (t) => {
  const server = await startResponder("127.0.0.1", (request) => respond(request, "200 OK", "ok"));
  t.teardown(server.close);
  const port = server.listen.split(":")[1];
  const reply = await new FastCgiClient(`0.0.0.0:${port}`, { timeout: scaled(2000) }).request({});
  t.equal(parseCgiResponse(reply.stdout).body.toString(), "ok");
});

t.test("FCGI_GET_VALUES returns what the server knows", async (t) => {
  const server = await startResponder("127.0.0.1", () => {}, {
    getValues: { maxConns: 7, maxReqs: 8, mpxsConns: true },
  });
  t.teardown(server.close);
  const values = await new FastCgiClient(server.listen, { timeout: scaled(2000) }).getValues([
    FCGI_MAX_CONNS,
    FCGI_MAX_REQS,
    FCGI_MPXS_CONNS,
    "NOT_A_VARIABLE",
  ]);
  t.same(values, { FCGI_MAX_CONNS: "7", FCGI_MAX_REQS: "8", FCGI_MPXS_CONNS: "1" }, "unknown names are left out (section 4.1)");
});

t.test("a refused connection names the address", async (t) => {
  const port = await freePort();
  const client = new FastCgiClient(`127.0.0.1:${port}`, { timeout: scaled(2000) });
  const error = await client.request({}).catch((e: unknown) => e);
  t.type(error, ClientConnectError);
  t.equal((error as ClientConnectError).code, "TSCGI_E_CLIENT_CONNECT");
  t.match((error as Error).message, `cannot connect to 127.0.0.1:${port} (ECONNREFUSED)`);
});

t.test("a missing socket file names the path", async (t) => {
  const error = await new FastCgiClient("/nonexistent/tscgi.sock", { timeout: scaled(2000) })
    .getValues([FCGI_MAX_CONNS])
    .catch((e: unknown) => e);
  t.type(error, ClientConnectError);
  t.match((error as Error).message, "cannot connect to unix:/nonexistent/tscgi.sock (ENOENT): no socket at that path");
});

/** A TCP server that accepts and never answers, or answers with `reply` and closes. */
async function rawServer(t: Test, onSocket: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

t.test("a server that never answers times out with a clear error", async (t) => {
  const listen = await rawServer(t, () => {});
  const started = Date.now();
  const error = await new FastCgiClient(listen, { timeout: 200 }).request({}).catch((e: unknown) => e);
  t.type(error, ClientTimeoutError);
  t.match((error as Error).message, `no answer from ${listen} within 200 ms`);
  t.ok(Date.now() - started >= 190, "gave up at the timeout, not before");
});

t.test("a server that closes before END_REQUEST is a protocol error", async (t) => {
  const listen = await rawServer(t, (socket) => socket.end());
  const error = await new FastCgiClient(listen, { timeout: scaled(2000) }).request({}).catch((e: unknown) => e);
  t.type(error, ClientProtocolError);
  t.match((error as Error).message, `${listen} closed the connection before answering`);
});

t.test("a peer that is not FastCGI is a protocol error", async (t) => {
  const listen = await rawServer(t, (socket) => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
  const error = await new FastCgiClient(listen, { timeout: scaled(2000) }).request({}).catch((e: unknown) => e);
  t.type(error, ClientProtocolError);
  t.match((error as Error).message, /sent a bad answer: record header has version 72/);
});

t.test("END_REQUEST with FCGI_OVERLOADED is an error naming the status", async (t) => {
  const server = await startResponder("127.0.0.1", (request) => request.end(0, undefined, ProtocolStatus.Overloaded));
  t.teardown(server.close);
  const error = await new FastCgiClient(server.listen, { timeout: scaled(2000) }).request({}).catch((e: unknown) => e);
  t.type(error, ClientProtocolError);
  t.match((error as Error).message, /refused the request: FCGI_OVERLOADED/);
});
