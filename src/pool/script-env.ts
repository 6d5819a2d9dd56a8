// The environment scripts run in, like PHP-FPM's clear_env and env[NAME]: with clear_env on, a
// worker starts with what any program needs plus the variables `env` names, never the launcher's
// whole environment (an orchestrator's tokens, a deploy script's credentials).

import type { Config } from "../config/types.ts";

/**
 * Passed even with clear_env on: what the system and Node need to run a program (its paths,
 * locale, time zone, temporary directory and Node's own settings), nothing that is a site's.
 * The locale's LC_* and the allocator's settings are matched by name below.
 */
const PROCESS_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "NODE_ENV",
  "NODE_OPTIONS",
  "NODE_PATH",
  "NODE_EXTRA_CA_CERTS",
  "NODE_ICU_DATA",
  "NODE_V8_COVERAGE",
];

/** The LC_* locale variables, passed like LANG. */
const LOCALE = /^LC_[A-Z_]+$/;
/** glibc's allocator settings (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES): the process's, not a site's. */
const ALLOCATOR = /^(MALLOC_[A-Z_]+|GLIBC_TUNABLES)$/;

export type ScriptEnvSettings = Pick<Config, "clear_env" | "env">;

/** The environment a worker is started with, from the launcher's `from`. */
export function scriptEnv(settings: ScriptEnvSettings, from: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (!settings.clear_env) {
    for (const [name, value] of Object.entries(from)) if (value !== undefined) out[name] = value;
  } else {
    for (const [name, value] of Object.entries(from)) {
      if (value !== undefined && (PROCESS_ENV.includes(name) || LOCALE.test(name) || ALLOCATOR.test(name))) out[name] = value;
    }
  }
  for (const [name, value] of settings.env) {
    const chosen = value ?? from[name];
    if (chosen !== undefined) out[name] = chosen;
  }
  return out;
}

/**
 * The single process (workers = 0) runs scripts itself: its own process.env becomes what a
 * worker's would be, once the config is loaded.
 */
export function narrowProcessEnv(settings: ScriptEnvSettings, env: Record<string, string | undefined>): void {
  const kept = scriptEnv(settings, env);
  for (const name of Object.keys(env)) if (!(name in kept)) delete env[name];
  Object.assign(env, kept);
}
