// The `tscgi` command: serve (default), cgi FILE, ping, status, --test-config, --help, --version.
import { createRequire } from "node:module";
import { realpathSync } from "node:fs";
import { basename, dirname } from "node:path";
import { ConfigError } from "./config/errors.ts";
import { helpText } from "./config/help.ts";
import { loadConfig } from "./config/load.ts";
import { type LoadedConfig } from "./config/types.ts";
import * as api from "./index.ts";
import { ScriptLoader } from "./scripts/loader.ts";
import { Dispatcher } from "./server/dispatch.ts";
import { LogSink, Logger } from "./server/log.ts";
import { CLIENT_FLAGS, runPing, runStatus } from "./client/commands.ts";
import { serve } from "./pool/run.ts";
import { cgiParamsFromEnv, StdioExchange } from "./server/stdio-exchange.ts";

const version: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(message.startsWith("tscgi: ") ? `${message}\n` : `tscgi: ${message}\n`);
  // A configuration fault is the operator's to fix before tscgi can start: status 2 (docs/config.md).
  process.exit(error instanceof ConfigError ? 2 : 1);
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

/** `tscgi ping|status` take a few flags of their own (--timeout, --json, ...) besides the config's. */
function splitClientFlags(argv: string[]): { configArgv: string[]; clientArgs: string[] } {
  if (argv[0] !== "ping" && argv[0] !== "status") return { configArgv: argv, clientArgs: [] };
  const configArgv: string[] = [argv[0]];
  const clientArgs: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.replace(/^--?/, "").split("=")[0];
    const isClient = (CLIENT_FLAGS as readonly string[]).includes(name) && (arg.startsWith("-") || argv[0] === "status");
    if (!isClient) {
      configArgv.push(arg);
      continue;
    }
    clientArgs.push(arg);
    if (name === "timeout" && !arg.includes("=") && i + 1 < argv.length) clientArgs.push(argv[++i]);
  }
  return { configArgv, clientArgs };
}

export async function main(argv: string[]): Promise<void> {
  let loaded: LoadedConfig;
  const { configArgv, clientArgs } = splitClientFlags(argv);
  try {
    loaded = loadConfig({ argv: configArgv, env: process.env, cwd: process.cwd() });
  } catch (error) {
    fail(error);
  }
  if (loaded.testConfig) {
    process.stdout.write(`tscgi: configuration OK${loaded.source ? ` (${loaded.source})` : " (no config file, defaults)"}\n`);
    return;
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
    if (loaded.command === "serve") await serve({ loaded, argv: configArgv, cwd: process.cwd() });
    else if (loaded.command === "cgi") await cgi(loaded);
    else if (loaded.command === "ping") process.exitCode = await runPing(loaded.config, clientArgs, process.stdout, process.stderr);
    else if (loaded.command === "status") process.exitCode = await runStatus(loaded.config, clientArgs, process.stdout, process.stderr);
    else throw new Error(`unknown command "${loaded.command}"; commands: serve, cgi FILE, ping, status, help, version`);
  } catch (error) {
    fail(error);
  }
}

await main(process.argv.slice(2));
