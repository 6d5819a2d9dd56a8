// Scripts loaded when a process starts, before it serves (like opcache.preload): their first request is not a cold one.
import type { ScriptLoader } from "../scripts/loader.ts";
import type { ScriptResolver } from "../scripts/resolve.ts";
import type { Logger } from "./log.ts";
import { messageOf } from "../errors.ts";

/**
 * Resolves each URL path (mount included, as a request names it) and loads its script: compiled
 * (by the master in a pool, whose cache every worker shares), evaluated, cached. A path that
 * resolves to nothing or fails to load is logged and skipped: the process serves all the same,
 * and that script's requests report the fault as they would have.
 */
export async function preloadScripts(
  paths: readonly string[],
  resolver: ScriptResolver,
  loader: ScriptLoader,
  log: Logger,
): Promise<number> {
  let loaded = 0;
  await Promise.all(
    paths.map(async (path) => {
      try {
        await loader.load(resolver.resolve(path).file);
        loaded++;
      } catch (error) {
        const reason = messageOf(error);
        log.warn(`preload: ${path} was not loaded (it loads on its first request instead): ${reason}`);
      }
    }),
  );
  return loaded;
}
