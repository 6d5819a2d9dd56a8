// Listen addresses: "HOST:PORT", "[::1]:PORT", "PORT", or a Unix socket path.
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, type Server } from "node:net";
import { ListenError } from "./errors.ts";

export type ListenAddress = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export function parseListen(value: string): ListenAddress {
  if (value.includes("/")) return { kind: "unix", path: value };
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (m) return { kind: "tcp", host: m[1] ?? (m[2] || "127.0.0.1"), port: Number(m[3]) };
  if (/^\d+$/.test(value)) return { kind: "tcp", host: "127.0.0.1", port: Number(value) };
  throw new Error(`not a listen address: ${value}`);
}

export function formatAddress(a: ListenAddress): string {
  if (a.kind === "unix") return `unix:${a.path}`;
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Removes a Unix socket left by a process that died, but never one a live server still answers on. */
export async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path) || !lstatSync(path).isSocket()) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (!live) unlinkSync(path);
}

/** Binds a server (net or http) to an address; resolves to what was really bound (port 0 -> the port). */
export async function listenOn(server: Server, address: ListenAddress, label: string): Promise<ListenAddress> {
  if (address.kind === "unix") await clearStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(new ListenError(label, error));
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if (address.kind === "unix") server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  if (address.kind === "tcp" && bound && typeof bound === "object") return { ...address, port: bound.port };
  return address;
}
