// `tscgi cgi [FILE]`: one request the classic CGI way (env and stdin in, CGI response out), for
// Apache mod_cgi or any CGI server. Without FILE the script is found from the URL under root and
// mount, as the FastCGI server finds it; compiled scripts are kept in cgi_cache_dir.
import { Console } from "node:console";
import { realpathSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { LoadedConfig } from "./config/types.ts";
import * as api from "./index.ts";
import * as jsxRuntime from "./runtime/jsx-runtime.ts";
import { narrowProcessEnv } from "./pool/script-env.ts";
import { DiskCompileCache } from "./scripts/disk-cache.ts";
import { ScriptLoader } from "./scripts/loader.ts";
import { ScriptResolver } from "./scripts/resolve.ts";
import { Dispatcher } from "./server/dispatch.ts";
import { LogSink, Logger } from "./server/log.ts";
import { cgiParamsFromEnv, StdioExchange } from "./server/stdio-exchange.ts";
import { createToolkit } from "./server/toolkit.ts";

/**
 * Takes the request out of the environment: the CGI server passes it as variables, and scripts
 * must not find it in process.env (a client's `Proxy:` header as HTTP_PROXY, "httpoxy"), nor pass
 * it to programs they start. Then the environment is narrowed as a worker's is (clear_env, env).
 */
function takeRequestFromEnv(loaded: LoadedConfig, env: Record<string, string | undefined>): Record<string, string> {
  const params = cgiParamsFromEnv(env);
  for (const name of Object.keys(params)) delete env[name];
  // What Apache adds besides RFC 3875's names (SCRIPT_URI, CONTEXT_*, UNIQUE_ID, SSL_*, ...) is
  // request data too; config variables (TSCGI_*) were read already.
  for (const name of Object.keys(env)) if (/^(SCRIPT_|CONTEXT_|SERVER_|REDIRECT_|SSL_|UNIQUE_ID$|TSCGI_)/.test(name)) delete env[name];
  narrowProcessEnv(loaded.config, env);
  return params;
}

export async function runCgi(loaded: LoadedConfig, version: string): Promise<void> {
  const config = loaded.config;
  const file = loaded.args[0];
  const real = file === undefined ? null : realpathSync(file);
  const root = real === null ? config.root : dirname(real);
  const log = new Logger(new LogSink("stderr"), config.log_level);
  process.setSourceMapsEnabled(true);
  let compiler = undefined;
  if (config.cgi_cache_dir !== null) {
    const cache = DiskCompileCache.open(config.cgi_cache_dir, version);
    if (typeof cache === "string") log.warn(cache);
    else compiler = cache.compiler;
  }
  // stdout carries the response: a script's console output goes to stderr, the server's error log.
  const stderrConsole = new Console(process.stderr, process.stderr);
  const loader = new ScriptLoader({
    root,
    hostModules: { tscgi: api, "tscgi/jsx-runtime": jsxRuntime },
    jsxImportSource: "tscgi",
    log: log.log,
    consoleFor: () => stderrConsole,
    compiler,
  });
  const params = takeRequestFromEnv(loaded, process.env);
  const resolver =
    real === null
      ? new ScriptResolver({ root, mount: config.mount, extensions: config.extensions, index: config.index })
      : { resolve: () => ({ file: real, scriptName: "", pathInfo: "" }) };
  const toolkit = createToolkit(config, log);
  const dispatcher = new Dispatcher({
    root,
    resolver,
    loader,
    maxBodySize: config.max_body_size,
    requestTimeout: config.request_timeout,
    log,
    accessLog: null,
    toolkit,
    displayErrors: config.display_errors,
  });
  const exchange = new StdioExchange(params, process.stdin, process.stdout);
  const script =
    real === null ? undefined : { file: real, scriptName: params.SCRIPT_NAME ?? `/${basename(real)}`, pathInfo: params.PATH_INFO ?? "" };
  await dispatcher.dispatch(exchange, script);
  dispatcher.close();
  loader.close();
  await toolkit.sessions.close();
  log.flush();
  process.exitCode = exchange.failed ? 1 : 0;
}
