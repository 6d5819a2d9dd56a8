// Listening sockets as handles: bound once (by the master), then listened on by every process
// given a copy. A socket stays listening while any process holds it, so connections wait in its
// backlog while workers are replaced instead of being refused.
import { chmodSync, chownSync } from "node:fs";
import net from "node:net";
import { constants } from "node:os";
import { getSystemErrorName } from "node:util";
import { createServerHandle, type RawHandle } from "../node-internals.ts";
import { ListenError } from "./errors.ts";
import type { ListenAddress } from "../config/address.ts";
import { clearStaleSocket } from "./address.ts";

/** A bound socket's handle (libuv TCP or Pipe), as child_process.send() and Server.listen() take it. */
export type ListenHandle = { close(): void; readonly fd: number } & object;

export interface UnixSocketOptions {
  /** Permission bits, e.g. 0o660. */
  mode?: number;
  uid?: number | null;
  gid?: number | null;
}

export interface BoundListener {
  readonly handle: ListenHandle;
  /** What was really bound: the port when 0 was asked for. */
  readonly address: ListenAddress;
  close(): void;
}

/** Binds without listening: only processes that call listen() on their copy accept connections, so the master never takes one itself. */
export async function bindListener(address: ListenAddress, label: string, unix: UnixSocketOptions = {}): Promise<BoundListener> {
  let handle: RawHandle | number;
  let bound: ListenAddress = address;
  if ("path" in address) {
    await clearStaleSocket(address.path);
    // Owner-only while the file exists with its final mode not yet set.
    const umask = process.umask(0o177);
    try {
      handle = createServerHandle(address.path, -1, -1);
    } finally {
      process.umask(umask);
    }
    if (typeof handle !== "number") {
      try {
        chmodSync(address.path, unix.mode ?? 0o660);
        if (unix.uid != null || unix.gid != null) chownSync(address.path, unix.uid ?? -1, unix.gid ?? -1);
      } catch (error) {
        handle.close();
        throw new ListenError(label, error);
      }
    }
  } else {
    let ip = address.host;
    let family = net.isIP(ip);
    if (family === 0) {
      try {
        // Loaded here: a worker never binds, and most listen addresses are IP literals.
        const { lookup } = await import("node:dns/promises");
        const found = await lookup(ip);
        ip = found.address;
        family = found.family;
      } catch (error) {
        throw new ListenError(label, error);
      }
    }
    handle = createServerHandle(ip, address.port, family);
    if (typeof handle !== "number") {
      // libuv keeps EADDRINUSE from bind() for listen() to report; a process given a copy would
      // then listen on an unbound socket, i.e. on a random port. An unbound socket shows port 0.
      const out: { port?: number } = {};
      handle.getsockname?.(out);
      if (!out.port || (address.port !== 0 && out.port !== address.port)) {
        handle.close();
        handle = -constants.errno.EADDRINUSE;
      } else {
        bound = { host: address.host, port: out.port };
      }
    }
  }
  if (typeof handle === "number") throw new ListenError(label, socketFault(getSystemErrorName(handle)));
  const h = handle;
  return { handle: h, address: bound, close: () => h.close() };
}

/** A bind or listen failure by its errno name, worded for an operator: "address already in use (EADDRINUSE)". */
export function socketFault(code: string): Error {
  const reason = code === "EADDRINUSE" ? "address already in use" : code === "EACCES" ? "permission denied" : code;
  return Object.assign(new Error(`${reason} (${code})`), { code });
}

/**
 * A socket already bound and listening that this process was given (systemd, or fd 0 from a web
 * server): wrapped as bindListener's are, so it is passed to workers the same way. `path` names
 * a Unix socket, for messages; a TCP socket's address is read from it.
 */
export function listenerFromFd(fd: number, label: string, path: string | null): BoundListener {
  const handle = createServerHandle(null, 0, 0, fd);
  if (typeof handle === "number") throw new ListenError(label, new Error(getSystemErrorName(handle)));
  let address: ListenAddress = { path: path || `fd ${fd}` };
  if (path === null) {
    const out: { address?: string; port?: number } = {};
    handle.getsockname?.(out);
    address = { host: out.address ?? "?", port: out.port ?? 0 };
  }
  return { handle, address, close: () => handle.close() };
}

/** Starts accepting on a handle bound by bindListener (in this process or another). */
export function listenOnHandle(server: net.Server, handle: ListenHandle, backlog: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(handle, backlog, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
