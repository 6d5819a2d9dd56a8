// The status page's access list: REMOTE_ADDR, else the connection's peer, must match; with
// neither (a Unix socket and no REMOTE_ADDR) it is shut. Decided in the table, then on real sockets.
import t from "tap";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseClientList } from "../../src/config/clients.ts";
import { statusClientAllowed } from "../../src/pool/builtins.ts";
import { FcgiClient, parseCgi } from "../helpers/fcgi-client.ts";
import { repo, startTscgi } from "../helpers/tscgi.ts";

const fixtures = `${repo}test/fixtures/cgi-bin`;

t.test("who may see the status page", async (t) => {
  const local = parseClientList("127.0.0.1, ::1");
  const cases: Array<[string, ReturnType<typeof parseClientList>, string | undefined, boolean]> = [
    ["REMOTE_ADDR in the list", local, "127.0.0.1", true],
    ["REMOTE_ADDR as a mapped IPv6 address", local, "::ffff:127.0.0.1", true],
    ["REMOTE_ADDR not in the list", local, "10.1.2.3", false],
    ["neither REMOTE_ADDR nor a peer (Unix socket)", local, undefined, false],
    ["an unparsable address", local, "unix:", false],
    ["any admits a Unix socket peer too", null, undefined, true],
    ["any admits every address", null, "203.0.113.9", true],
  ];
  for (const [label, list, client, expected] of cases) t.equal(statusClientAllowed(list, client), expected, label);
});

const statusRequest = (extra: Record<string, string>) => ({
  REQUEST_METHOD: "GET",
  REQUEST_URI: "/status?json",
  DOCUMENT_URI: "/status",
  QUERY_STRING: "json",
  ...extra,
});

async function statusCode(target: number | string, id: number, extra: Record<string, string>): Promise<number> {
  const client = new FcgiClient(target);
  try {
    return parseCgi((await client.request(id, statusRequest(extra))).stdout).status;
  } finally {
    client.close();
  }
}

t.test("a request without REMOTE_ADDR is judged by its connection's peer, and fails closed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-status-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, "fcgi.sock");
  const common = ["--root", fixtures, "--workers", "1", "--status-path", "/status"];
  const [elsewhere, local, unix] = await Promise.all([
    startTscgi([...common, "--status-allowed-clients", "10.1.2.3"]),
    startTscgi(common),
    startTscgi(common, { listen: socketPath }),
  ]);
  t.teardown(() => Promise.all([elsewhere.stop(), local.stop(), unix.stop()]));

  t.equal(await statusCode(elsewhere.fastcgiPort, 1, {}), 403, "no REMOTE_ADDR: the peer 127.0.0.1 is not 10.1.2.3");
  t.equal(await statusCode(elsewhere.fastcgiPort, 2, { REMOTE_ADDR: "" }), 403, "an empty REMOTE_ADDR counts as none");
  t.equal(await statusCode(elsewhere.fastcgiPort, 3, { REMOTE_ADDR: "10.1.2.3" }), 200, "REMOTE_ADDR in the list");

  t.equal(await statusCode(local.fastcgiPort, 1, {}), 200, "no REMOTE_ADDR: the peer 127.0.0.1 is in the default list");
  t.equal(await statusCode(local.fastcgiPort, 2, { REMOTE_ADDR: "192.0.2.1" }), 403, "REMOTE_ADDR wins over the peer");

  t.equal(await statusCode(socketPath, 1, {}), 403, "Unix socket, no REMOTE_ADDR: no client to match, so refused");
  t.equal(await statusCode(socketPath, 2, { REMOTE_ADDR: "" }), 403, "Unix socket, empty REMOTE_ADDR: refused");
  t.equal(await statusCode(socketPath, 3, { REMOTE_ADDR: "127.0.0.1" }), 200, "Unix socket, REMOTE_ADDR in the list");
});
