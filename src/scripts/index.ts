// The scripts layer: URL path -> file (the security boundary), TypeScript loading, hot reload.

export { ScriptResolver, DEFAULT_EXTENSIONS, MAX_PATH_LENGTH, MAX_SCRIPT_DEPTH, RESOLVE_CACHE_SIZE } from "./resolve.ts";
export type { ResolvedScript, ResolverOptions } from "./resolve.ts";
export { ScriptLoader } from "./loader.ts";
export type { LoaderOptions, ScriptExports } from "./loader.ts";
export { scriptHandler, isFetchHandler } from "./handler.ts";
export type { CgiHandler, FetchHandler, ScriptHandler } from "./handler.ts";
export { COMPILED_EXTENSIONS } from "./compile.ts";
export { DirectoryWatcher } from "./watcher.ts";
export {
  BadScriptPathError,
  RequireEsmError,
  ScriptCompileError,
  ScriptExportError,
  ScriptImportError,
  ScriptNotFoundError,
  ScriptRootError,
} from "./errors.ts";
