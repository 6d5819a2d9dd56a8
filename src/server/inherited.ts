// Listening sockets handed to tscgi instead of bound by it: systemd socket activation
// (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, descriptors from 3 on), and a
// listening socket on fd 0, where the FastCGI spec (section 2.2) has a web server leave it.
import { readFileSync, readlinkSync } from "node:fs";
import { listenerFromFd, type BoundListener } from "./bind.ts";
import { InheritedSocketError } from "./errors.ts";

/** sd_listen_fds(3): the first descriptor passed. */
const SD_LISTEN_FDS_START = 3;

/** FastCGI spec, section 2.2: "the Web server leaves a single file descriptor, FCGI_LISTENSOCK_FILENO, open when the application begins execution". */
const FCGI_LISTENSOCK_FILENO = 0;

/** The name a socket unit gives the FastCGI socket (FileDescriptorName=fastcgi) when it passes several. */
const FASTCGI_FD_NAME = "fastcgi";

/** What a descriptor of this process is, read from /proc (Linux): null when it is no socket seen there. */
export interface SocketInfo {
  kind: "tcp" | "unix";
  /** A stream socket in the listening state. */
  listening: boolean;
  /** A Unix socket's path ("" when unnamed). */
  path: string;
}

// /proc/net/unix: Flags has __SO_ACCEPTCON for a listening socket; Type 0001 is SOCK_STREAM.
const SO_ACCEPTCON = 0x10000;
const SOCK_STREAM = "0001";
// /proc/net/tcp{,6}: st 0A is TCP_LISTEN.
const TCP_LISTEN = "0A";

function readProc(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function socketInfo(fd: number): SocketInfo | null {
  let inode: string;
  try {
    const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
    if (match === null) return null;
    inode = match[1]!;
  } catch {
    return null;
  }
  for (const line of readProc("/proc/self/net/unix").split("\n")) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f[6] !== inode) continue;
    const listening = (parseInt(f[3], 16) & SO_ACCEPTCON) !== 0 && f[4] === SOCK_STREAM;
    return { kind: "unix", listening, path: f[7] ?? "" };
  }
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readProc(table).split("\n")) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f[9] === inode) return { kind: "tcp", listening: f[3] === TCP_LISTEN, path: "" };
    }
  }
  return null;
}

/** Where a handed-over socket came from: its descriptor, and who passed it. */
export interface InheritedFd {
  fd: number;
  from: string;
}

/**
 * The FastCGI socket passed to this process, if any: systemd's (the one named "fastcgi", else
 * the first), else fd 0 when it is a listening socket. systemd's variables are removed from `env`,
 * as sd_listen_fds(1) does, so no child takes them for its own.
 */
export function inheritedFastCgiFd(
  env: Record<string, string | undefined>,
  pid: number,
  info: (fd: number) => SocketInfo | null = socketInfo,
): InheritedFd | null {
  const count = Number(env.LISTEN_FDS);
  // sd_listen_fds(3): the variables are meant for the process whose pid LISTEN_PID names.
  if (env.LISTEN_PID === String(pid) && Number.isInteger(count) && count > 0) {
    const names = (env.LISTEN_FDNAMES ?? "").split(":");
    delete env.LISTEN_PID;
    delete env.LISTEN_FDS;
    delete env.LISTEN_FDNAMES;
    const index = Math.max(0, names.slice(0, count).indexOf(FASTCGI_FD_NAME));
    const fd = SD_LISTEN_FDS_START + index;
    const from = `socket from systemd, fd ${fd}${names[index] ? ` "${names[index]}"` : ""}`;
    const found = info(fd);
    if (found === null || !found.listening) throw new InheritedSocketError(fd, "systemd");
    return { fd, from };
  }
  if (info(FCGI_LISTENSOCK_FILENO)?.listening === true) return { fd: FCGI_LISTENSOCK_FILENO, from: "socket on fd 0" };
  return null;
}

/** The handed-over socket as a listener like a bound one; `from` says where it came from. */
export function inheritedListener(inherited: InheritedFd): BoundListener & { from: string } {
  const info = socketInfo(inherited.fd);
  const listener = listenerFromFd(inherited.fd, inherited.from, info?.kind === "unix" ? info.path : null);
  return { ...listener, from: inherited.from };
}
