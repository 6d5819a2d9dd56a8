// The `tscgi` command: serve (default), cgi [FILE], ping, status, --test-config, --help, --version.
import { createRequire } from "node:module";
import { join } from "node:path";
import { ConfigError } from "./config/errors.ts";
import { helpText } from "./config/help.ts";
import { loadConfig } from "./config/load.ts";
import { type LoadedConfig } from "./config/types.ts";
import { checkNodeInternals } from "./node-internals.ts";
import { CLIENT_FLAGS, runPing, runStatus } from "./client/commands.ts";
import { serve } from "./pool/run.ts";
import { runCgi } from "./cgi-command.ts";
import { checkSite, formatReport, reportFails } from "./scripts/check.ts";
import { initSite } from "./init.ts";
import { formatRouteTable, resolverOptions, routeTable } from "./scripts/routes.ts";
import { messageOf } from "./errors.ts";

const version: string = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

function fail(error: unknown): never {
  const message = messageOf(error);
  process.stderr.write(`tscgi: ${message}\n`);
  // A configuration fault is the operator's to fix before tscgi can start: status 2 (docs/config.md).
  process.exit(error instanceof ConfigError ? 2 : 1);
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

/** `tscgi init DIR [TSCGI]`: before any config is read, since a new site's directory has none yet. */
function init(args: string[]): void {
  const [dir, from] = args;
  if (!dir)
    throw new Error("usage: tscgi init DIR [TSCGI] (a new or empty directory; TSCGI: tscgi's directory or a tarball from npm pack)");
  for (const file of initSite({ dir, ...(from ? { from } : {}) })) process.stdout.write(`created ${join(dir, file)}\n`);
}

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === "init") {
    try {
      init(argv.slice(1));
    } catch (error) {
      fail(error);
    }
    return;
  }
  let loaded: LoadedConfig;
  const { configArgv, clientArgs } = splitClientFlags(argv);
  try {
    loaded = loadConfig({ argv: configArgv, env: process.env, cwd: process.cwd() });
  } catch (error) {
    fail(error);
  }
  if (loaded.testConfig || loaded.command === "serve" || loaded.command === "cgi") {
    // Before serving: a Node release that lacks an internal stops tscgi here, not at a request.
    try {
      checkNodeInternals();
    } catch (error) {
      fail(error);
    }
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
    else if (loaded.command === "cgi") await runCgi(loaded, version);
    else if (loaded.command === "check") {
      const report = checkSite({ ...resolverOptions(loaded.config), cwd: process.cwd(), templates: loaded.config.templates });
      process.stdout.write(formatReport(report));
      process.exitCode = reportFails(report) ? 1 : 0;
    } else if (loaded.command === "routes") process.stdout.write(formatRouteTable(routeTable(resolverOptions(loaded.config))));
    else if (loaded.command === "ping") process.exitCode = await runPing(loaded.config, clientArgs, process.stdout, process.stderr);
    else if (loaded.command === "status") process.exitCode = await runStatus(loaded.config, clientArgs, process.stdout, process.stderr);
    else
      throw new Error(
        `unknown command "${loaded.command}"; commands: serve, cgi [FILE], init DIR, routes, check, ping, status, help, version`,
      );
  } catch (error) {
    fail(error);
  }
}

await main(process.argv.slice(2));
