// Listen addresses: "HOST:PORT", "[::1]:PORT", a bare "PORT", or a Unix socket path.

import { ValueRejected } from "./errors.ts";

export type ListenAddress = { host: string; port: number } | { path: string };

/** The host a bare "PORT" listens on: loopback, like PHP-FPM's `listen = 9000`. */
const DEFAULT_HOST = "127.0.0.1";

/** sun_path is 108 bytes on Linux, one of which is the terminating NUL (unix(7)). */
const MAX_SOCKET_PATH_BYTES = 107;

const BRACKETED = /^\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]:(\w*)$/;
const HOST_PORT = /^([^\s:/[\]]+):(\w*)$/;

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ValueRejected(`port "${text}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new ValueRejected(`port ${port} is outside 1-65535`);
  return port;
}

/** A TCP address, normalised to "HOST:PORT" (IPv6 hosts keep their brackets). */
export function parseTcpAddress(text: string): string {
  const value = text.trim();
  if (/^\d+$/.test(value)) return `${DEFAULT_HOST}:${parsePort(value)}`;
  const bracketed = BRACKETED.exec(value);
  if (bracketed !== null) return `[${bracketed[1]}]:${parsePort(bracketed[2])}`;
  const hostPort = HOST_PORT.exec(value);
  if (hostPort !== null) return `${hostPort[1]}:${parsePort(hostPort[2])}`;
  if ((value.match(/:/g) ?? []).length > 1) {
    throw new ValueRejected("an IPv6 address needs brackets, as in [::1]:9000");
  }
  throw new ValueRejected();
}

/** A TCP address as above, or a Unix socket path (anything with a "/"), made absolute. */
export function parseListen(text: string, resolvePath: (path: string) => string): string {
  const value = text.trim();
  if (!value.includes("/")) return parseTcpAddress(value);
  const path = resolvePath(value);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ValueRejected(`the socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes`);
  }
  return path;
}

/** Splits a validated `listen` or `http` value into what `net.Server.listen` takes. */
export function splitListen(listen: string): ListenAddress {
  if (listen.includes("/")) return { path: listen };
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(listen.slice(colon + 1)) };
}
