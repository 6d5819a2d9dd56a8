// Node's undocumented internals tscgi relies on, in one place: each typed here and probed once at
// start-up, so a Node release that moves one stops tscgi there with a message, not at a request.
import { isAscii as bufferIsAscii } from "node:buffer";
import type { Server as HttpServer } from "node:http";
import Module from "node:module";
import net, { type Socket } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { TscgiError } from "./errors.ts";

/** An internal tscgi needs is missing from this Node release, or works differently. */
export class NodeInternalError extends TscgiError {
  readonly code = "TSCGI_E_NODE_INTERNAL";
  readonly internal: string;
  constructor(internal: string, version: string = process.version) {
    super(
      `this Node.js (${version}) has no usable ${internal}, which tscgi needs; ` +
        "run tscgi on a Node.js release that package.json's engines field allows (Node.js 20 LTS, 22 or 24)",
    );
    this.internal = internal;
  }
}

/** A libuv handle as JavaScript sees it: a bound socket, or a connection's. */
export interface RawHandle {
  readonly fd: number;
  close(): void;
  getsockname?(out: { address?: string; port?: number }): number;
}

type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number) => RawHandle | number;
const netInternals = net as unknown as { _createServerHandle: CreateServerHandle };

/**
 * The call Node's cluster module makes to bind without listening (or to wrap a listening `fd`):
 * a handle, or a negative errno.
 */
export function createServerHandle(address: string | null, port: number, addressType: number, fd?: number): RawHandle | number {
  return netInternals._createServerHandle(address, port, addressType, fd);
}

/** The libuv handle under a socket; null before it connects and after it closes. */
function socketHandle<T extends object = RawHandle>(socket: Socket): T | null {
  return (socket as unknown as { _handle?: T | null })._handle ?? null;
}

/** A socket's file descriptor, -1 when it has none (closed, or no descriptor on this platform). */
export function socketFd(socket: Socket): number {
  const fd = socketHandle(socket)?.fd;
  return typeof fd === "number" ? fd : -1;
}

/** A connection's libuv handle (TCP or Pipe), read and written through Node's stream_wrap binding. */
export interface StreamHandle extends RawHandle {
  onread: ((arrayBuffer: ArrayBuffer | undefined) => Uint8Array | undefined) | null;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: object, data: Uint8Array): number;
  writev(req: object, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: object): number;
  close(callback?: () => void): void;
  setNoDelay?(enable: boolean): number;
  getpeername?(out: { address?: string; port?: number }): number;
}

/** A libuv request: `oncomplete` runs with its status (0, or a negative errno) once libuv is done with it. */
export interface StreamRequest {
  handle: StreamHandle;
  oncomplete: (status: number) => void;
}

/** Node's stream_wrap binding: its request classes, and the shared array its calls report through. */
export interface StreamWrap {
  WriteWrap: new () => StreamRequest;
  ShutdownWrap: new () => StreamRequest;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

/** libuv's end-of-stream status, as a read reports it: UV__EOF, the same on every platform. */
export const UV_EOF = -4095;

function loadStreamWrap(): StreamWrap | null {
  const binding = (process as unknown as { binding(name: string): Partial<StreamWrap> }).binding("stream_wrap");
  const indexes = [binding.kReadBytesOrError, binding.kArrayBufferOffset, binding.kBytesWritten, binding.kLastWriteWasAsync];
  const usable =
    typeof binding.WriteWrap === "function" &&
    typeof binding.ShutdownWrap === "function" &&
    binding.streamBaseState instanceof Int32Array &&
    indexes.every((i) => typeof i === "number");
  return usable ? (binding as StreamWrap) : null;
}

let streamWrapBinding: StreamWrap | null = null;

/** Node's stream_wrap binding; checkNodeInternals() made sure it is there. */
export function streamWrap(): StreamWrap {
  streamWrapBinding ??= loadStreamWrap();
  if (streamWrapBinding === null) throw new NodeInternalError("process.binding('stream_wrap')");
  return streamWrapBinding;
}

type OnConnection = (status: number, handle?: StreamHandle) => void;

/**
 * Takes a listening net.Server's accepted connections as bare libuv handles: `onConnection` runs
 * instead of net.Server building a net.Socket (a Duplex stream) for each. Node's own hook, the
 * listening handle's onconnection, is replaced. With `noDelay`, each TCP connection comes with
 * TCP_NODELAY: Linux copies a listening socket's options to the sockets it accepts, so there it is
 * set once on the listener instead of with a system call per connection.
 */
export function takeAcceptedHandles(server: net.Server, onConnection: OnConnection, noDelay = false): void {
  const handle = (server as unknown as { _handle?: { onconnection?: unknown; setNoDelay?: (enable: boolean) => number } | null })._handle;
  if (typeof handle?.onconnection !== "function") throw new NodeInternalError("net.Server's _handle.onconnection");
  // A Unix socket's handle has no setNoDelay: there is no Nagle to turn off.
  const tcp = noDelay && typeof handle.setNoDelay === "function";
  const inherited = tcp && process.platform === "linux" && handle.setNoDelay!(true) === 0;
  handle.onconnection =
    tcp && !inherited
      ? (status: number, accepted?: StreamHandle) => {
          accepted?.setNoDelay?.(true);
          onConnection(status, accepted);
        }
      : onConnection;
}

/** Closes only the listener of an http.Server (net.Server's close): http's own also drops idle keep-alive connections. */
export function closeListener(server: HttpServer): void {
  net.Server.prototype.close.call(server);
}

type GcFunction = (options?: { type: "minor" | "major" }) => void;

/** V8's `gc` function, where it can be had: --expose-gc is on only while a fresh context is made, so scripts' global never gets it. */
function exposedGc(): GcFunction | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as GcFunction;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? (gc as GcFunction) : null;
  } catch {
    return null;
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
}

let gcFunction: GcFunction | null | undefined;

/** The function is looked up at the first call: its context costs 0.3 MiB a process that never asks. */
function gcOnce(): GcFunction | null {
  if (gcFunction === undefined) gcFunction = exposedGc();
  return gcFunction;
}

/** Runs V8's young-generation collection (a scavenge); false where this V8 does not offer it. */
export function scavenge(): boolean {
  const gc = gcOnce();
  if (gc === null) return false;
  gc({ type: "minor" });
  return true;
}

/**
 * Runs V8's full collection; false where this V8 does not offer it. Called without options: with
 * `{type: "major"}`, Node 20's V8 left old space as it was (Node 24's collects it either way).
 */
export function collectGarbage(): boolean {
  const gc = gcOnce();
  if (gc === null) return false;
  gc();
  return true;
}

/** Node's CommonJS Module: what the script loader uses to evaluate a file it compiled itself. */
export interface CommonJsModule {
  filename: string;
  paths: string[];
  exports: unknown;
  loaded: boolean;
  require(id: string): unknown;
  _compile(code: string, filename: string): unknown;
}
interface CommonJsModuleClass {
  new (id: string): CommonJsModule;
  _nodeModulePaths(dir: string): string[];
  prototype: { require: (this: CommonJsModule, id: string) => unknown };
}
export const CommonJs = Module as unknown as CommonJsModuleClass;

/**
 * Buffer's own decoders, called directly: Buffer#toString adds argument checks that cost more
 * than the copy for the short strings FastCGI params are made of.
 */
export interface BufferSlicer {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

/**
 * True when every byte is below 0x80 (node:buffer's isAscii, one vectorised pass). Reached
 * through here so that the wire layer imports no node:* module itself.
 */
export function isAscii(buf: Uint8Array): boolean {
  return bufferIsAscii(buf);
}

/** `buf` seen with its slicers (no call, no copy). */
export function slicer(buf: Uint8Array): BufferSlicer {
  return buf as unknown as BufferSlicer;
}

// A socket keeps its handle in _handle, and a bound handle has its descriptor in fd.
function handleHasFd(): boolean {
  if (!("_handle" in new net.Socket())) return false;
  const handle = createServerHandle("127.0.0.1", 0, 4);
  // No IPv4 loopback to bind: nothing to learn here; the listeners will say what is wrong.
  if (typeof handle === "number") return true;
  const fd = handle.fd;
  handle.close();
  return typeof fd === "number" && fd >= 0;
}

/**
 * node:http, loaded only here and by the HTTP front: a worker serving FastCGI alone never needs
 * it, and loading it cost a worker 5 ms of start-up and 0.6 MiB.
 */
function httpServer(): typeof HttpServer {
  return (Module.createRequire(import.meta.url)("node:http") as typeof import("node:http")).Server;
}

/** Each internal, under the name a message gives it, with a check that it is there and works. Read live, so a test can take one away. */
const PROBES: readonly (readonly [string, () => boolean])[] = [
  ["net._createServerHandle", () => typeof netInternals._createServerHandle === "function"],
  ["socket._handle.fd", handleHasFd],
  ["Module.prototype._compile", () => typeof (CommonJs.prototype as Partial<CommonJsModule>)._compile === "function"],
  ["Module._nodeModulePaths", () => Array.isArray(CommonJs._nodeModulePaths("/srv/app"))],
  ["Buffer#utf8Slice", () => slicer(Buffer.from("é")).utf8Slice(0, 2) === "é"],
  ["Buffer#latin1Slice", () => slicer(Buffer.from([0x61, 0xe9])).latin1Slice(0, 2) === "aé"],
  // Not an internal either: buffer.isAscii is Node 18.15 and 19.6.
  ["buffer.isAscii", () => typeof bufferIsAscii === "function" && isAscii(Buffer.from("a")) && !isAscii(Buffer.from("é"))],
  ["process.binding('stream_wrap')", () => loadStreamWrap() !== null],
  ["http.Server as a net.Server", () => httpServer().prototype instanceof net.Server],
  // Not an internal, but the newest API tscgi calls (a script's signal): Node 20.3.
  ["AbortSignal.any", () => typeof AbortSignal.any === "function"],
];

/** Throws NodeInternalError for the first internal this Node lacks; the command calls it before it starts. */
export function checkNodeInternals(): void {
  for (const [name, works] of PROBES) {
    let ok: boolean;
    try {
      ok = works();
    } catch {
      ok = false;
    }
    if (!ok) throw new NodeInternalError(name);
  }
}
