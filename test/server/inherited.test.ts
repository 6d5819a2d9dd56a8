// Sockets handed to tscgi instead of bound by it: conf/tscgi.socket + conf/tscgi.service run as
// systemd would (systemd-socket-activate passes the socket as LISTEN_FDS), and a listening socket
// on fd 0 from a web server that starts tscgi itself (lighttpd's bin-path), as the FastCGI spec has it.
import t from "tap";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inheritedFastCgiFd, type SocketInfo } from "../../src/server/inherited.ts";
import { FcgiClient, parseCgi } from "../helpers/fcgi-client.ts";
import { watchOutput } from "../helpers/output.ts";
import { freePort } from "../helpers/ports.ts";
import { startServerProcess } from "../helpers/web-servers/process.ts";
import { fillSnippet } from "../helpers/web-servers/snippet.ts";
import { bin, repo } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;
const activate = ["/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"].find((p) => existsSync(p));
const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));
const lighttpd = ["/usr/sbin/lighttpd", "/usr/local/sbin/lighttpd"].find((p) => existsSync(p));
if (process.env.CI && (!activate || !analyze || !lighttpd))
  throw new Error("CI needs systemd-socket-activate, systemd-analyze and lighttpd");

function get(path: string): Record<string, string> {
  const [uri, query = ""] = path.split("?");
  return { REQUEST_METHOD: "GET", DOCUMENT_URI: uri, REQUEST_URI: path, QUERY_STRING: query, SERVER_PROTOCOL: "HTTP/1.1" };
}

async function fetchFcgi(target: number | string, path: string): Promise<{ status: number; body: string }> {
  const c = new FcgiClient(target);
  try {
    const { status, body } = parseCgi((await c.request(1, get(path))).stdout);
    return { status, body };
  } finally {
    c.close();
  }
}

t.test("which descriptor is taken", async (t) => {
  const listening = (fd: number): SocketInfo | null =>
    fd === 0 || fd === 3 || fd === 4 ? { kind: "tcp", listening: true, path: "" } : null;
  const env: Record<string, string | undefined> = { LISTEN_PID: "42", LISTEN_FDS: "1", LISTEN_FDNAMES: "fastcgi", PATH: "/bin" };
  t.same(inheritedFastCgiFd(env, 42, listening), { fd: 3, from: 'socket from systemd, fd 3 "fastcgi"' });
  t.same(env, { PATH: "/bin" }, "systemd's variables are taken out, so no child takes them for its own");
  t.same(inheritedFastCgiFd({ LISTEN_PID: "42", LISTEN_FDS: "2", LISTEN_FDNAMES: "http:fastcgi" }, 42, listening)?.fd, 4, "by name");
  t.same(
    inheritedFastCgiFd({ LISTEN_PID: "7", LISTEN_FDS: "1" }, 42, () => null),
    null,
    "another process's",
  );
  t.same(inheritedFastCgiFd({}, 42, listening), { fd: 0, from: "socket on fd 0" }, "fd 0 when it is a listening socket");
  t.same(
    inheritedFastCgiFd({}, 42, () => ({ kind: "unix", listening: false, path: "" })),
    null,
    "not a connected one",
  );
  t.throws(() => inheritedFastCgiFd({ LISTEN_PID: "42", LISTEN_FDS: "1" }, 42, () => ({ kind: "tcp", listening: false, path: "" })), {
    code: "TSCGI_E_SERVER_INHERITED_SOCKET",
    message: /fd 3 from systemd is not a listening stream socket.*Accept=no/,
  });
});

t.test(
  "conf/tscgi.socket and conf/tscgi.service, as systemd runs them",
  { skip: !activate && "systemd-socket-activate is missing" },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tscgi-systemd-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // The service's working directory: a project with its config file and scripts.
    const project = join(dir, "project");
    mkdirSync(join(project, "conf"), { recursive: true });
    cpSync(fixtures, join(project, "cgi-bin"), { recursive: true });
    const unusedPort = await freePort();
    // listen names a port nobody may bind here: tscgi must serve the socket it was handed instead.
    writeFileSync(join(project, "conf", "tscgi.conf"), `listen = 127.0.0.1:${unusedPort}\nworkers = 2\n`);
    const socketPath = join(dir, "tscgi.sock");
    const socketUnit = fillSnippet(readFileSync(`${repo}conf/tscgi.socket`, "utf8"), {
      "/run/tscgi/tscgi.sock": socketPath,
      "www-data": "nogroup",
    });
    const serviceUnit = fillSnippet(readFileSync(`${repo}conf/tscgi.service`, "utf8"), {
      "User=tscgi": "User=daemon",
      "Group=tscgi": "Group=daemon",
      "/srv/tscgi": project,
      "/usr/local/bin/tscgi": `${process.execPath} ${bin}`,
    });
    writeFileSync(join(dir, "tscgi.socket"), socketUnit);
    writeFileSync(join(dir, "tscgi.service"), serviceUnit);

    await t.test("systemd-analyze verify finds nothing to say", { skip: !analyze && "systemd-analyze is missing" }, async (t) => {
      const verify = spawnSync(analyze!, ["verify", join(dir, "tscgi.socket"), join(dir, "tscgi.service")], { encoding: "utf8" });
      const said = `${verify.stdout}${verify.stderr}`.split("\n").filter((line) => line.includes(dir));
      t.same(said, [], "no complaint about either unit");
    });

    const setting = (unit: string, key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]);
    const [listenStream] = setting(socketUnit, "ListenStream");
    const [fdName] = setting(socketUnit, "FileDescriptorName");
    const [execStart] = setting(serviceUnit, "ExecStart");
    const [workingDirectory] = setting(serviceUnit, "WorkingDirectory");
    const environment = setting(serviceUnit, "Environment").flatMap((value) => ["-E", value]);
    const child = spawn(activate!, ["-l", listenStream, `--fdname=${fdName}`, ...environment, ...execStart.split(" ")], {
      cwd: workingDirectory,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = watchOutput(child);
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await output.closed;
    });
    await output.waitFor(`Listening on ${socketPath} as 3.`);

    // The first connection starts tscgi, as systemd does; it waits in the socket's backlog meanwhile.
    t.same(await fetchFcgi(socketPath, "/hello"), { status: 200, body: "Hello, world" }, "the connection that started it is served");
    await output.waitFor(`listening on fastcgi unix:${socketPath} (socket from systemd, fd 3 "fastcgi")`);
    t.notMatch(output.text(), new RegExp(`${unusedPort}`), "listen was not bound");
    const env = await fetchFcgi(socketPath, "/process-env?names=LISTEN_PID,LISTEN_FDS,LISTEN_FDNAMES,NODE_ENV");
    t.same(JSON.parse(env.body), { NODE_ENV: "production" }, "scripts get the unit's Environment=, and no LISTEN_* of systemd's");

    child.kill("SIGHUP");
    await output.waitFor("reloaded: generation 2");
    t.same(
      await fetchFcgi(socketPath, "/hello"),
      { status: 200, body: "Hello, world" },
      "new workers serve the same socket after a reload",
    );

    child.kill("SIGTERM");
    t.equal(await output.closed, 0, "SIGTERM drains and exits 0");
  },
);

t.test(
  "a web server that starts tscgi with the socket on fd 0 (lighttpd bin-path)",
  { skip: !lighttpd && "lighttpd is missing" },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "tscgi-lighttpd-fd0-"));
    mkdirSync(join(dir, "public"));
    const port = await freePort();
    const fastcgiPort = await freePort();
    writeFileSync(
      join(dir, "lighttpd.conf"),
      `server.document-root = "${dir}/public"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${dir}/error.log"
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( "/" => ((
  "host" => "127.0.0.1", "port" => ${fastcgiPort},
  "bin-path" => "${process.execPath} ${bin} serve --root ${fixtures} --workers 2",
  "max-procs" => 1, "check-local" => "disable", "fix-root-scriptname" => "enable"
)) )
`,
    );
    const server = await startServerProcess("lighttpd", lighttpd!, ["-D", "-f", join(dir, "lighttpd.conf")], {
      port,
      dir,
      logFiles: [join(dir, "error.log")],
    });
    t.teardown(async () => {
      await server.stop();
      // lighttpd stops tscgi with SIGTERM; should it not have, its master is stopped here by pid.
      const master = /master (\d+):/.exec(server.logs())?.[1];
      if (master) {
        try {
          process.kill(Number(master), "SIGKILL");
        } catch {
          // Gone already.
        }
      }
    });
    const res = await fetch(`${server.url}/hello`);
    t.equal(res.status, 200, "answered through the socket lighttpd made");
    t.equal(await res.text(), "Hello, world");
    t.match(server.logs(), `listening on fastcgi 127.0.0.1:${fastcgiPort} (socket on fd 0)`);
  },
);
