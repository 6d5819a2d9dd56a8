// How a worker is started so its memory after a load returns close to its idle size: fewer glibc
// malloc arenas and a capped V8 young generation, each unless the user already chose one.

import type { Config } from "../config/types.ts";

export type WorkerMemorySettings = Pick<Config, "worker_malloc_arena_max" | "worker_semi_space_size">;

/** The worker's environment with MALLOC_ARENA_MAX added, unless it or tscgi's own already sets one. */
export function workerMemoryEnv(
  settings: WorkerMemorySettings,
  env: Record<string, string>,
  launcher: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  if (env.MALLOC_ARENA_MAX !== undefined) return env;
  // Set on tscgi itself: the user's choice, even when clear_env keeps the rest out.
  const chosen = launcher.MALLOC_ARENA_MAX ?? (settings.worker_malloc_arena_max > 0 ? String(settings.worker_malloc_arena_max) : undefined);
  return chosen === undefined ? env : { ...env, MALLOC_ARENA_MAX: chosen };
}

const SEMI_SPACE_FLAG = /--max[-_]semi[-_]space[-_]size\b/;

/** Node's flags for a worker: tscgi's own plus the semi-space cap, unless they or NODE_OPTIONS set one. */
export function workerExecArgv(settings: WorkerMemorySettings, execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const set = execArgv.some((arg) => SEMI_SPACE_FLAG.test(arg)) || SEMI_SPACE_FLAG.test(nodeOptions ?? "");
  if (set || settings.worker_semi_space_size === 0) return [...execArgv];
  return [...execArgv, `--max-semi-space-size=${settings.worker_semi_space_size}`];
}
