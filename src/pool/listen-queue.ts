// The listen queue: connections the kernel has accepted that no worker has taken yet (PHP-FPM's
// "listen queue"). Linux shows it for a listening TCP socket as rx_queue in /proc/net/tcp{,6};
// for Unix sockets it shows nothing, so the figure is 0 there.
import { closeSync, openSync, readlinkSync, readSync } from "node:fs";

const LISTEN = "0A";
const CHUNK = 16 * 1024;
const MAX_BYTES = 1024 * 1024;

/** The socket inode behind an fd of this process, or null. */
function socketInode(fd: number): string | null {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/** Parses /proc/net/tcp text: the rx_queue of the socket with this inode, or null when absent. */
export function queueFromProcNet(text: string, inode: string): number | null {
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
    if (f.length > 9 && f[9] === inode) {
      const rx = f[4].split(":")[1];
      return rx === undefined ? null : parseInt(rx, 16);
    }
  }
  return null;
}

/** True once `text` holds a whole row of a socket that is not listening. */
function pastListeners(text: string): boolean {
  const lines = text.split("\n");
  lines.pop(); // the last piece may be a partial row
  return lines.some((line) => {
    const f = line.trim().split(/\s+/);
    return f.length > 9 && /^\d+:$/.test(f[0]) && f[3] !== LISTEN;
  });
}

/**
 * The leading part of a /proc/net/tcp file up to the first socket that is not listening. The
 * kernel lists listening sockets first, and under load the file holds tens of thousands of
 * TIME-WAIT rows that cost the master real CPU to generate and parse when read whole.
 */
export function readListenRows(read: (buf: Buffer) => number): string {
  const buf = Buffer.allocUnsafe(CHUNK);
  let text = "";
  while (text.length < MAX_BYTES) {
    const n = read(buf);
    if (n <= 0) break;
    const chunk = buf.toString("latin1", 0, n);
    text += chunk;
    if (pastListeners(chunk)) break;
  }
  return text;
}

export function listenQueue(fd: number): number {
  if (fd < 0) return 0;
  const inode = socketInode(fd);
  if (inode === null) return 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let handle: number;
    try {
      handle = openSync(file, "r");
    } catch {
      continue; // not Linux, /proc not mounted, or no IPv6
    }
    try {
      const found = queueFromProcNet(
        readListenRows((buf) => readSync(handle, buf, 0, buf.length, null)),
        inode,
      );
      if (found !== null) return found;
    } catch {
      // The file vanished or could not be read: no figure rather than an error.
    } finally {
      closeSync(handle);
    }
  }
  return 0;
}
