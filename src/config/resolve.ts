// After every source is merged: the values that depend on other keys ("auto" spare servers, a
// percentage jitter) are worked out, and keys that must agree are checked together.

import { ConfigConflictError, type ConflictingValue } from "./errors.ts";
import type { Config, ConfigKey, ParsedConfig, RawValue } from "./types.ts";

/** pm.max_spare_servers = auto: half the workers, rounded up, and never below the minimum. */
export function autoMaxSpare(workers: number, minSpare: number): number {
  return Math.max(minSpare, Math.ceil(workers / 2));
}

/** pm.start_servers = auto: PHP-FPM's own default, min_spare + (max_spare - min_spare) / 2. */
export function autoStartServers(minSpare: number, maxSpare: number): number {
  return minSpare + Math.floor((maxSpare - minSpare) / 2);
}

/** True when `path` is `dir` or below it (both absolute). */
function isInside(path: string, dir: string): boolean {
  const base = dir.endsWith("/") ? dir : dir + "/";
  return path === dir || path.startsWith(base);
}

/** A uid or gid: its key's check has looked any name up by now. */
function id(key: "listen_owner" | "listen_group", value: number | string | null): number | null {
  if (typeof value === "string") throw new Error(`${key} "${value}" was not looked up; its check did not run`);
  return value;
}

/**
 * The final Config from parsed (and checked) values; `chosen` holds the raw value each came
 * from, for messages. Throws ConfigConflictError naming every key involved.
 */
export function resolveConfig(parsed: ParsedConfig, chosen: ReadonlyMap<ConfigKey, RawValue>): Config {
  const { workers, pm, pm_min_spare_servers: minSpare, max_requests } = parsed;
  const maxSpare = parsed.pm_max_spare_servers === "auto" ? autoMaxSpare(workers, minSpare) : parsed.pm_max_spare_servers;
  const start = parsed.pm_start_servers === "auto" ? autoStartServers(minSpare, maxSpare) : parsed.pm_start_servers;
  const jitter = parsed.max_requests_jitter;
  const config: Config = {
    ...parsed,
    pm_max_spare_servers: maxSpare,
    pm_start_servers: start,
    // With max_requests = 0 workers are never recycled, so there is nothing to spread.
    max_requests_jitter: max_requests === 0 ? 0 : jitter.percent ? Math.round((max_requests * jitter.amount) / 100) : jitter.amount,
    listen_owner: id("listen_owner", parsed.listen_owner),
    listen_group: id("listen_group", parsed.listen_group),
  };

  /** A key's value for a message: as written, plus what an "auto" came to. */
  const named = (key: ConfigKey): ConflictingValue => {
    const raw = chosen.get(key)!;
    const auto = raw.raw.trim().toLowerCase() === "auto" ? ` (= ${JSON.stringify(config[key])})` : "";
    return { key, value: raw.shown + auto, origin: raw.origin };
  };
  const conflict = (keys: ConfigKey[], rule: string) => new ConfigConflictError(keys.map(named), rule);

  // The spare-server counts matter only to pm = dynamic; workers = 0 is one process whatever pm says.
  if (pm === "dynamic" && workers > 0) {
    const when = "when pm is dynamic";
    if (minSpare > maxSpare) {
      throw conflict(["pm", "pm_min_spare_servers", "pm_max_spare_servers"], `pm_min_spare_servers <= pm_max_spare_servers ${when}`);
    }
    if (maxSpare > workers) {
      // An auto maximum is the minimum here (half the workers never exceeds them): name both.
      const keys: ConfigKey[] =
        parsed.pm_max_spare_servers === "auto"
          ? ["pm", "pm_min_spare_servers", "pm_max_spare_servers", "workers"]
          : ["pm", "pm_max_spare_servers", "workers"];
      throw conflict(keys, `1 <= pm_min_spare_servers <= pm_max_spare_servers <= workers ${when}`);
    }
    if (start < minSpare || start > maxSpare) {
      throw conflict(
        ["pm", "pm_start_servers", "pm_min_spare_servers", "pm_max_spare_servers"],
        `pm_min_spare_servers <= pm_start_servers <= pm_max_spare_servers ${when}`,
      );
    }
  }
  // One request's params may take max_params_bytes; a smaller connection cap would refuse it.
  if (config.max_pending_params_bytes < config.max_params_bytes) {
    throw conflict(["max_pending_params_bytes", "max_params_bytes"], "max_pending_params_bytes >= max_params_bytes");
  }
  if (config.status_path !== null && config.status_path === config.ping_path) {
    throw conflict(["status_path", "ping_path"], "two different paths (or off) for the status and ping pages");
  }
  // The status listener answers only these two paths: with both off it would answer nothing.
  if (config.status_listen !== null && config.status_path === null && config.ping_path === null) {
    throw conflict(["status_listen", "status_path", "ping_path"], "status_path or ping_path set when status_listen is");
  }
  if (config.status_listen !== null && (config.status_listen === config.listen || config.status_listen === config.http)) {
    throw conflict(["status_listen", "listen", "http"], "status_listen an address of its own, not listen's or http's");
  }
  // Each worker would have sessions of its own: a visitor's next request, on another worker, would find none.
  if (config.session_store === "memory" && workers > 1) {
    throw conflict(["session_store", "workers"], "session_store = memory only with workers = 0 or 1; use file (or redis) for a pool");
  }
  // Files there could be requested as scripts, or read through a script that serves its directory.
  for (const key of ["upload_tmp_dir", "session_save_path"] as const) {
    if (isInside(config[key], config.root)) throw conflict([key, "root"], `${key} outside root`);
  }
  return config;
}
