// The CPUs a cgroup CPU quota lets this process use (v2 cpu.max, v1 cpu.cfs_quota_us), so that
// `workers = auto` in a container started with --cpus follows the quota, not the host's core count.

import { readFileSync } from "node:fs";
import { join, posix } from "node:path";

/** One line of /proc/self/cgroup: `hierarchy-id:controllers:path` (v2: `0::/path`). */
interface Membership {
  v2: boolean;
  controllers: string[];
  path: string;
}

/** A cgroup filesystem from /proc/self/mountinfo: which cgroup its root is, and where it is mounted. */
interface CgroupMount {
  v2: boolean;
  controllers: string[];
  root: string;
  mountPoint: string;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function memberships(text: string): Membership[] {
  const out: Membership[] = [];
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    out.push({ v2: match[1] === "0" && match[2] === "", controllers: match[2].split(","), path: match[3] });
  }
  return out;
}

/** Fields: id parent major:minor root mount-point options [optional...] - fstype source super-options. */
function cgroupMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6) continue;
    const fstype = fields[dash + 1];
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    out.push({
      v2: fstype === "cgroup2",
      controllers: (fields[dash + 3] ?? "").split(","),
      root: unescape(fields[3]),
      mountPoint: unescape(fields[4]),
    });
  }
  return out;
}

/** The quota at one cgroup directory, in CPUs, or null when it sets none. */
function quotaAt(dir: string, v2: boolean): number | null {
  let quota: number;
  let period: number;
  if (v2) {
    // "max 100000" (no limit) or "50000 100000" (half a CPU).
    const [q, p] = (read(join(dir, "cpu.max")) ?? "").trim().split(/\s+/);
    quota = Number(q);
    period = Number(p);
  } else {
    quota = Number((read(join(dir, "cpu.cfs_quota_us")) ?? "").trim());
    period = Number((read(join(dir, "cpu.cfs_period_us")) ?? "").trim());
  }
  return quota > 0 && period > 0 ? quota / period : null;
}

/**
 * The smallest CPU quota on this process's cgroup and its ancestors that the mount shows, in
 * CPUs (0.5, 2), or null when none is set. `fsRoot` lets tests lay out /proc and /sys elsewhere.
 */
export function cgroupCpuLimit(fsRoot = "/"): number | null {
  const groups = memberships(read(join(fsRoot, "proc/self/cgroup")) ?? "");
  const mounts = cgroupMounts(read(join(fsRoot, "proc/self/mountinfo")) ?? "");
  let limit: number | null = null;
  for (const group of groups) {
    // "/../x": a cgroup outside this cgroup namespace, whose files the mount does not show.
    if (group.path.split("/").includes("..")) continue;
    for (const mount of mounts) {
      if (mount.v2 !== group.v2) continue;
      if (!mount.v2 && !(mount.controllers.includes("cpu") && group.controllers.includes("cpu"))) continue;
      // The mount shows the subtree from mount.root down (a container sees its own cgroup as root).
      const rel = posix.relative(mount.root, group.path);
      if (rel.startsWith("..") || posix.isAbsolute(rel)) continue;
      const top = join(fsRoot, mount.mountPoint);
      const parts = rel === "" ? [] : rel.split("/");
      // A parent's quota caps its children too: walk up to the mount's root.
      for (let depth = parts.length; depth >= 0; depth--) {
        const quota = quotaAt(join(top, ...parts.slice(0, depth)), mount.v2);
        if (quota !== null && (limit === null || quota < limit)) limit = quota;
      }
    }
  }
  return limit;
}
