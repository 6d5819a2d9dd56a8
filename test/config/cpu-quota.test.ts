// A cgroup CPU quota (docker run --cpus, Kubernetes limits.cpu) is found under cgroup v1 and v2,
// in a container's own namespace and on a host, so that `workers = auto` follows it.

import t, { type Test } from "tap";
import { cgroupCpuLimit } from "../../src/config/cpu-quota.ts";

type Tree = { [name: string]: string | Tree };

/** A root laid out like / with the given /proc/self files and cgroup directories. */
function root(t: Test, cgroup: string, mountinfo: string[], sys: Tree): string {
  return t.testdir({
    proc: { self: { cgroup: `${cgroup}\n`, mountinfo: `${mountinfo.join("\n")}\n` } },
    sys: { fs: { cgroup: sys } },
  });
}

const v2Mount = "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate";
const v1Mount = (root: string, dir: string, controllers: string) =>
  `40 30 0:37 ${root} /sys/fs/cgroup/${dir} rw,relatime - cgroup cgroup rw,${controllers}`;

t.test("cgroup v2 in a container: cpu.max at the namespace's root", async (t) => {
  t.equal(cgroupCpuLimit(root(t, "0::/", [v2Mount], { "cpu.max": "50000 100000\n" })), 0.5, "--cpus 0.5");
  t.equal(cgroupCpuLimit(root(t, "0::/", [v2Mount], { "cpu.max": "150000 100000\n" })), 1.5, "--cpus 1.5");
  t.equal(cgroupCpuLimit(root(t, "0::/", [v2Mount], { "cpu.max": "max 100000\n" })), null, "no quota");
});

t.test("cgroup v2 on a host: a parent's quota caps the process's cgroup", async (t) => {
  const dir = root(t, "0::/kubepods/pod1/ctr", [v2Mount], {
    "cpu.max": "max 100000",
    kubepods: { "cpu.max": "max 100000", pod1: { "cpu.max": "200000 100000", ctr: { "cpu.max": "max 100000" } } },
  });
  t.equal(cgroupCpuLimit(dir), 2);
  const tighter = root(t, "0::/a/b", [v2Mount], { a: { "cpu.max": "300000 100000", b: { "cpu.max": "25000 100000" } } });
  t.equal(cgroupCpuLimit(tighter), 0.25, "the smallest on the way up wins");
});

t.test("cgroup v1 in a container: the mount's root is the container's own cgroup", async (t) => {
  const dir = root(t, "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc", [v1Mount("/docker/abc", "cpu,cpuacct", "cpu,cpuacct")], {
    "cpu,cpuacct": { "cpu.cfs_quota_us": "100000\n", "cpu.cfs_period_us": "100000\n" },
  });
  t.equal(cgroupCpuLimit(dir), 1, "--cpus 1");
  const unlimited = root(t, "5:cpu,cpuacct:/docker/abc", [v1Mount("/docker/abc", "cpu,cpuacct", "cpu,cpuacct")], {
    "cpu,cpuacct": { "cpu.cfs_quota_us": "-1\n", "cpu.cfs_period_us": "100000\n" },
  });
  t.equal(cgroupCpuLimit(unlimited), null, "a quota of -1 is none");
});

t.test("hybrid v1/v2: the v1 cpu controller holds the quota, the unified tree has none", async (t) => {
  const dir = root(
    t,
    ["2:cpuacct:/libpod_parent/libpod-1", "1:cpu:/libpod_parent/libpod-1", "0::/libpod_parent/libpod-1"].join("\n"),
    [
      v1Mount("/", "cpu", "cpu"),
      v1Mount("/", "cpuacct", "cpuacct"),
      "41 30 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    ],
    {
      cpu: {
        "cpu.cfs_quota_us": "-1",
        "cpu.cfs_period_us": "100000",
        libpod_parent: { "libpod-1": { "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000" } },
      },
      unified: { libpod_parent: { "libpod-1": {} } },
    },
  );
  t.equal(cgroupCpuLimit(dir), 0.5);
});

t.test("a cgroup outside the mount's subtree, or no cgroup files at all, means no quota", async (t) => {
  const outside = root(t, "0::/../other", [v2Mount], { "cpu.max": "50000 100000" });
  t.equal(cgroupCpuLimit(outside), null, "a cgroup beside the namespace's root is not below its quota");
  const elsewhere = root(t, "1:cpu:/a", [v1Mount("/b", "cpu", "cpu")], {
    cpu: { "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000" },
  });
  t.equal(cgroupCpuLimit(elsewhere), null, "the mount shows another subtree");
  t.equal(cgroupCpuLimit(t.testdir({})), null, "not Linux, or /proc not mounted");
});

t.test("mount points with escaped spaces", async (t) => {
  const dir = root(t, "0::/", ["35 24 0:30 / /sys/fs/cgroup/my\\040tree rw - cgroup2 cgroup2 rw"], {
    "my tree": { "cpu.max": "300000 100000" },
  });
  t.equal(cgroupCpuLimit(dir), 3);
});
