// The `tscgi` command: serve (default), cgi FILE, --help, --version.
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
import { basename, dirname } from "node:path";
import { helpText, loadConfig, type LoadedConfig } from "./config/index.ts";
import { isTscgiError } from "./errors.ts";
import * as api from "./index.ts";
import { ScriptLoader } from "./scripts/loader.ts";
import { Dispatcher } from "./server/dispatch.ts";
import { LogSink, Logger } from "./server/log.ts";
import { startServer } from "./server/serve.ts";
import { cgiParamsFromEnv, StdioExchange } from "./server/stdio-exchange.ts";

const version: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(message.startsWith("tscgi: ") ? `${message}\n` : `tscgi: ${message}\n`);
  process.exit(isTscgiError(error) && error.code.startsWith("TSCGI_E_CONFIG") ? 2 : 1);
}

async function serve(loaded: LoadedConfig): Promise<void> {
  const server = await startServer(loaded.config);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      server.log.warn(`${signal} again: exiting now`);
      server.kill();
      process.exit(1);
    }
    stopping = true;
    server.log.info(`${signal}: stopping gracefully`);
    void server.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGUSR1", () => server.reopenLogs());
}

/** `tscgi cgi FILE`: one request the classic CGI way, for Apache mod_cgi or any CGI server. */
async function cgi(loaded: LoadedConfig): Promise<void> {
  const file = loaded.args[0];
  if (!file) throw new Error("usage: tscgi cgi FILE (the script to run)");
  const real = realpathSync(file);
  const root = dirname(real);
  const log = new Logger(new LogSink("stderr"), loaded.config.log_level);
  process.setSourceMapsEnabled(true);
  const loader = new ScriptLoader({ root, hostModules: { tscgi: api }, log: log.log });
  const params = cgiParamsFromEnv(process.env);
  const dispatcher = new Dispatcher({
    root,
    resolver: { resolve: () => ({ file: real, scriptName: "", pathInfo: "" }) },
    loader,
    maxBodySize: loaded.config.max_body_size,
    requestTimeout: loaded.config.request_timeout,
    log,
    accessLog: null,
  });
  const exchange = new StdioExchange(params, process.stdin, process.stdout);
  await dispatcher.dispatch(exchange, {
    file: real,
    scriptName: params.SCRIPT_NAME ?? `/${basename(real)}`,
    pathInfo: params.PATH_INFO ?? "",
  });
  dispatcher.close();
  loader.close();
  log.flush();
  process.exitCode = exchange.failed ? 1 : 0;
}

export async function main(argv: string[]): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (error) {
    fail(error);
  }
  if (loaded.help || loaded.command === "help") {
    process.stdout.write(helpText());
    return;
  }
  if (loaded.version || loaded.command === "version") {
    process.stdout.write(`tscgi ${version}\n`);
    return;
  }
  try {
    if (loaded.command === "serve") await serve(loaded);
    else if (loaded.command === "cgi") await cgi(loaded);
    else throw new Error(`unknown command "${loaded.command}"; commands: serve, cgi FILE, help, version`);
  } catch (error) {
    fail(error);
  }
}

await main(process.argv.slice(2));
