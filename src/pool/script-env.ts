// The environment scripts run in, like PHP-FPM's clear_env and env[NAME]: with clear_env on, a
// worker starts with what any program needs plus the variables `env` names, never the launcher's
// whole environment (an orchestrator's tokens, a deploy script's credentials).

import type { Config } from "../config/types.ts";

/**
 * Passed even with clear_env on: what the system and Node need to run a program (its paths,
 * locale, time zone, temporary directory and Node's own settings), nothing that is a site's.
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

export type ScriptEnvSettings = Pick<Config, "clear_env" | "env">;

/** The environment a worker is started with, from the launcher's `from`. */
export function scriptEnv(settings: ScriptEnvSettings, from: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (!settings.clear_env) {
    for (const [name, value] of Object.entries(from)) if (value !== undefined) out[name] = value;
  } else {
    for (const [name, value] of Object.entries(from)) {
      if (value !== undefined && (PROCESS_ENV.includes(name) || LOCALE.test(name))) out[name] = value;
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
