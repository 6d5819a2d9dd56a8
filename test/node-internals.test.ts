// Each Node internal tscgi relies on is checked before it serves: without it, tscgi refuses to
// start, naming the internal and the Node version, instead of failing later at a request.
import t from "tap";
import { spawnSync } from "node:child_process";
import Module from "node:module";
import net from "node:net";
import { getHeapStatistics } from "node:v8";
import { checkNodeInternals, collectGarbage, NodeInternalError, scavenge, takeAcceptedHandles } from "../src/node-internals.ts";
import { bin } from "./helpers/tscgi.ts";

/** Replaces `owner[name]` (or removes it, for undefined) while `run` runs, then restores it. */
function swapped(owner: object, name: string, value: unknown, run: () => void): void {
  const saved = Object.getOwnPropertyDescriptor(owner, name);
  if (value === undefined) Reflect.deleteProperty(owner, name);
  else Object.defineProperty(owner, name, { value, configurable: true, writable: true });
  try {
    run();
  } finally {
    Reflect.deleteProperty(owner, name);
    if (saved !== undefined) Object.defineProperty(owner, name, saved);
  }
}

/** The error checkNodeInternals throws now, or null. */
function failure(): NodeInternalError | null {
  try {
    checkNodeInternals();
    return null;
  } catch (error) {
    if (error instanceof NodeInternalError) return error;
    throw error;
  }
}

t.test("this Node has every internal", async (t) => {
  t.equal(failure(), null);
});

const cases: [internal: string, owner: object, name: string, value: unknown][] = [
  ["net._createServerHandle", net, "_createServerHandle", undefined],
  // A bound handle without its descriptor: a socket's fd could not be read either.
  ["socket._handle.fd", net, "_createServerHandle", () => ({ close() {} })],
  ["Module.prototype._compile", Module.prototype, "_compile", undefined],
  ["Module._nodeModulePaths", Module, "_nodeModulePaths", undefined],
  ["Buffer#utf8Slice", Buffer.prototype, "utf8Slice", undefined],
  ["Buffer#latin1Slice", Buffer.prototype, "latin1Slice", undefined],
  ["http.Server as a net.Server", net, "Server", class {}],
  ["AbortSignal.any", AbortSignal, "any", undefined],
  ["process.binding('stream_wrap')", process, "binding", () => ({})],
];

for (const [internal, owner, name, value] of cases) {
  t.test(`without ${internal}, the check names it and the Node version`, async (t) => {
    swapped(owner, name, value, () => {
      const error = failure();
      t.ok(error, "refused");
      t.equal(error?.code, "TSCGI_E_NODE_INTERNAL");
      t.equal(error?.internal, internal);
      t.match(error?.message, `this Node.js (${process.version}) has no usable ${internal}`);
    });
    t.equal(failure(), null, "and passes again once it is back");
  });
}

t.test("tscgi does not start on a Node without one (--test-config checks as serve does): status 1 and the message", async (t) => {
  // Removed before tscgi's own code loads, as an older or newer Node would lack it (Node itself
  // needs it only for the cluster module).
  const remove = "data:text/javascript,import net from 'node:net'; delete net._createServerHandle";
  const out = spawnSync(process.execPath, ["--import", remove, bin, "--test-config"], { encoding: "utf8", timeout: 60_000 });
  t.equal(out.status, 1);
  t.match(out.stderr, `tscgi: this Node.js (${process.version}) has no usable net._createServerHandle`);
  t.notMatch(out.stdout, /configuration OK/);
});

t.test("scavenge() frees dead young buffers, and scripts' global gets no gc function", async (t) => {
  // 4 MiB of buffers, dead once made. A collection of V8's own while they are made frees some
  // before `before`: up to 3 tries.
  const freed: number[] = [];
  for (let attempt = 0; attempt < 3 && !(freed.at(-1)! >= 3 * 1024 * 1024); attempt++) {
    for (let i = 0; i < 64; i++) new Uint8Array(64 * 1024).fill(i);
    const before = process.memoryUsage().arrayBuffers;
    // V8 may free the buffers of a scavenge on a thread of its own; the next collection waits for it.
    if (!scavenge() || !scavenge()) break;
    freed.push(before - process.memoryUsage().arrayBuffers);
  }
  t.ok(freed.length > 0, "this Node offers it");
  t.ok(freed.at(-1)! >= 3 * 1024 * 1024, `MiB freed: ${freed.map((b) => (b / 1024 / 1024).toFixed(1)).join(", ")}`);
  t.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  t.equal(scavenge(), true, "and again");
});

t.test("collectGarbage() frees dead objects of the old generation, which a scavenge leaves", async (t) => {
  // Objects that live through two scavenges are promoted, and stay after they die until a full collection.
  const promoted = () => {
    const rows: string[][] = [];
    for (let i = 0; i < 256; i++) rows.push(Array.from({ length: 1024 }, (_, j) => `${i}:${j}`));
    scavenge();
    scavenge();
    return rows.length;
  };
  promoted();
  scavenge();
  const before = getHeapStatistics().used_heap_size;
  t.equal(collectGarbage(), true, "this Node offers it");
  const freed = before - getHeapStatistics().used_heap_size;
  t.ok(freed > 8 * 1024 * 1024, `${(freed / 1024 / 1024).toFixed(1)} MiB freed`);
  t.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined", "scripts' global still has no gc function");
});

t.test("a net.Server whose handle has no onconnection hook is refused, naming it", async (t) => {
  const notListening = net.createServer();
  t.throws(() => takeAcceptedHandles(notListening, () => {}), {
    code: "TSCGI_E_NODE_INTERNAL",
    internal: "net.Server's _handle.onconnection",
  });
});

/** TCP_NODELAY of each connection a listener taking handles accepts, read by python3's getsockopt on the shared descriptor. */
async function acceptedNoDelay(noDelay: boolean, platform?: string): Promise<number> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const read = new Promise<number>((resolve, reject) => {
    const run = () =>
      takeAcceptedHandles(
        listener,
        (_status, handle) => {
          const probe = spawnSync(
            "python3",
            ["-c", "import socket; print(socket.socket(fileno=3).getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))"],
            { stdio: ["ignore", "pipe", "pipe", handle!.fd], encoding: "utf8" },
          );
          handle!.close();
          if (probe.status === 0) resolve(Number(probe.stdout.trim()));
          else reject(new Error(`python3: ${probe.stderr}`));
        },
        noDelay,
      );
    if (platform === undefined) run();
    else swapped(process, "platform", platform, run);
  });
  const client = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  client.on("error", () => {});
  try {
    return await read;
  } finally {
    client.destroy();
    listener.close();
  }
}

const noPython = spawnSync("python3", ["-c", "import socket"]).status !== 0 && "python3 is needed to read a socket option";

t.test("accepted handles come with TCP_NODELAY when asked, set on the listener or on each", { skip: noPython }, async (t) => {
  t.equal(await acceptedNoDelay(false), 0, "not asked: Nagle stays on, as the kernel makes it");
  t.not(await acceptedNoDelay(true), 0, "asked: off on the connection (on Linux, inherited from the listener)");
  t.not(await acceptedNoDelay(true, "freebsd"), 0, "where it is not inherited, each connection gets it");
});
