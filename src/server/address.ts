// Binding listeners to the addresses the config layer validated (see splitListen there).
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection, type Server } from "node:net";
import { splitListen, type ListenAddress } from "../config/index.ts";
import { ListenError } from "./errors.ts";

export { splitListen, type ListenAddress };

export function formatAddress(a: ListenAddress): string {
  if ("path" in a) return `unix:${a.path}`;
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
  if ("path" in address) await clearStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(new ListenError(label, error));
    server.once("error", onError);
    const done = () => {
      server.off("error", onError);
      resolve();
    };
    if ("path" in address) server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  const bound = server.address();
  if (!("path" in address) && bound && typeof bound === "object") return { ...address, port: bound.port };
  return address;
}
