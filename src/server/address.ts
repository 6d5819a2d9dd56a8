// Binding listeners to the addresses the config layer validated (see splitListen there).
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { createConnection } from "node:net";
import type { ListenAddress } from "../config/address.ts";

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

/** The "listening on ..." lines a process logs once its sockets are bound. */
export function describeListeners(listeners: {
  fastcgi: { address: ListenAddress; from?: string };
  http: { address: ListenAddress } | null;
}): string[] {
  const { address, from } = listeners.fastcgi;
  // A socket handed over by systemd or a spawner says where it came from.
  const lines = [`listening on fastcgi ${formatAddress(address)}${from === undefined ? "" : ` (${from})`}`];
  if (listeners.http) lines.push(`listening on http ${formatAddress(listeners.http.address)}`);
  return lines;
}
