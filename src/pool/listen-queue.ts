// The listen queue: connections the kernel has accepted that no worker has taken yet (PHP-FPM's
// "listen queue"). Linux shows it for a listening TCP socket as rx_queue in /proc/net/tcp{,6};
// for Unix sockets it shows nothing, so the figure is 0 there.
import { readFileSync, readlinkSync } from "node:fs";

/** The socket inode behind an fd of this process, or null. */
function socketInode(fd: number): string | null {
  try {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
    return m ? m[1]! : null;
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
      const rx = f[4]!.split(":")[1];
      return rx === undefined ? null : parseInt(rx, 16);
    }
  }
  return null;
}

export function listenQueue(fd: number): number {
  if (fd < 0) return 0;
  const inode = socketInode(fd);
  if (inode === null) return 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      const found = queueFromProcNet(readFileSync(file, "latin1"), inode);
      if (found !== null) return found;
    } catch {
      // Not Linux, or /proc not mounted.
    }
  }
  return 0;
}
