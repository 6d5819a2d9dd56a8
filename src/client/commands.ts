// `tscgi ping` and `tscgi status`: ask a running tscgi over FastCGI, as the web server would.
//
// Exit codes: 0 healthy / status printed; 1 the server did not answer as expected (down,
// refused, timed out, wrong status or body); 2 a usage or configuration error.

import type { Config } from "../config/types.ts";
import { parseDuration } from "../config/units.ts";
import { FastCgiClient, parseCgiResponse, type CgiResponse } from "./fastcgi-client.ts";
import { FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS } from "../fastcgi/constants.ts";
import { messageOf } from "../errors.ts";

/** The keys these commands read: the server's own config, so they find it where it listens. */
export type ClientConfig = Pick<Config, "listen" | "ping_path" | "ping_response" | "status_path" | "status_listen">;

/** process.stdout / process.stderr, or anything that collects text in tests. */
export interface Output {
  write(text: string): unknown;
}

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** How long a command waits for the whole answer unless --timeout says otherwise. */
const DEFAULT_CLIENT_TIMEOUT_MS = 5000;

/** The status page formats, as flags (`--json`) or words (`tscgi status json full`). */
const STATUS_WORDS = ["json", "full", "prometheus", "openmetrics"] as const;
const FORMAT_WORDS = new Set(["json", "prometheus", "openmetrics"]);

/** Flags the CLI must hand through to these commands rather than treat as config keys. */
export const CLIENT_FLAGS = ["timeout", "ready", ...STATUS_WORDS] as const;

interface Parsed {
  timeout: number;
  words: string[];
}

/** Parses `--timeout D`, `--timeout=D` and the allowed words (with or without "--"); a string is the usage error. */
function parseArgs(command: string, args: readonly string[], allowed: readonly string[]): Parsed | string {
  let timeout = DEFAULT_CLIENT_TIMEOUT_MS;
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = arg.replace(/^--?/, "");
    if (flag === "timeout" || flag.startsWith("timeout=")) {
      const value = flag === "timeout" ? args[++i] : flag.slice("timeout=".length);
      if (value === undefined) return `tscgi ${command}: --timeout needs a duration (5s, 500ms)`;
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch {
        ms = NaN;
      }
      if (!(ms > 0)) return `tscgi ${command}: --timeout ${JSON.stringify(value)} is not a duration above zero (5s, 500ms)`;
      timeout = ms;
    } else if (allowed.includes(flag)) {
      if (!words.includes(flag)) words.push(flag);
    } else {
      const options = ["--timeout DURATION", ...allowed.map((w) => `--${w}`)].join(", ");
      return `tscgi ${command}: unknown argument ${JSON.stringify(arg)}; options: ${options}`;
    }
  }
  return { timeout, words };
}

/**
 * The CGI params of a GET to `path`, as nginx's fastcgi_params would send them from a local
 * client: the status page and ping answer only REMOTE_ADDRs in status_allowed_clients.
 */
export function requestParams(path: string, query: string): Record<string, string> {
  return {
    GATEWAY_INTERFACE: "CGI/1.1",
    REQUEST_METHOD: "GET",
    SCRIPT_NAME: path,
    SCRIPT_FILENAME: path,
    REQUEST_URI: query === "" ? path : `${path}?${query}`,
    DOCUMENT_URI: path,
    QUERY_STRING: query,
    CONTENT_TYPE: "",
    CONTENT_LENGTH: "",
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_SOFTWARE: "tscgi-client",
    SERVER_NAME: "localhost",
    SERVER_ADDR: "127.0.0.1",
    SERVER_PORT: "80",
    REMOTE_ADDR: "127.0.0.1",
    REMOTE_PORT: "0",
    HTTP_HOST: "localhost",
    HTTP_USER_AGENT: "tscgi-client",
  };
}

/** status_listen when set: the master answers there, also while every worker is busy. */
function makeClient(command: string, config: ClientConfig, timeout: number, err: Output): FastCgiClient | null {
  try {
    return new FastCgiClient(config.status_listen ?? config.listen, { timeout });
  } catch (error) {
    err.write(`tscgi ${command}: ${config.status_listen === null ? "listen" : "status_listen"}: ${(error as Error).message}\n`);
    return null;
  }
}

/** A short, one-line view of a body for an error message. */
function excerpt(body: Buffer): string {
  const text = body.toString("utf8").trim();
  if (text === "") return "an empty body";
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

/** Why a status or ping answered other than 200, with the likely fix. */
function unexpected(command: string, where: string, response: CgiResponse, key: "ping_path" | "status_path"): string {
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  let hint = "";
  if (response.status === 404) hint = `; is ${key} the same in the server's config as here?`;
  else if (response.status === 403) hint = "; status_allowed_clients must admit 127.0.0.1 (the REMOTE_ADDR this command sends)";
  return `tscgi ${command}: ${where} answered ${status} with ${excerpt(response.body)}${hint}\n`;
}

/**
 * `tscgi ping`: GET ping_path and expect 200 with ping_response as the body. When ping_path is
 * off, FCGI_GET_VALUES is the check: it shows the server answers FastCGI, not that a worker
 * runs requests. `--ready` asks status_listen's readiness (ping_path?ready) instead.
 */
export async function runPing(config: ClientConfig, args: readonly string[], out: Output, err: Output): Promise<number> {
  const parsed = parseArgs("ping", args, ["ready"]);
  if (typeof parsed === "string") {
    err.write(`${parsed}\n`);
    return EXIT_USAGE;
  }
  if (parsed.words.includes("ready")) return runReady(config, parsed.timeout, out, err);
  const client = makeClient("ping", config, parsed.timeout, err);
  if (client === null) return EXIT_USAGE;
  try {
    if (config.ping_path === null) {
      const values = await client.getValues([FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS]);
      const shown = Object.entries(values)
        .map(([name, value]) => `${name}=${value}`)
        .join(" ");
      out.write(
        `pong: ${client.address} answered FCGI_GET_VALUES${shown ? ` (${shown})` : ""}; ping_path is off, ` +
          `so no request ran: set ping_path to check that a worker answers requests\n`,
      );
      return EXIT_OK;
    }
    const where = `${client.address} ${config.ping_path}`;
    const response = parseCgiResponse((await client.request(requestParams(config.ping_path, ""))).stdout, client.address);
    if (response.status !== 200) {
      err.write(unexpected("ping", where, response, "ping_path"));
      return EXIT_FAILED;
    }
    // A trailing newline is tolerated: some responders end every body with one.
    const body = response.body.toString("utf8").replace(/\r?\n$/, "");
    if (body !== config.ping_response) {
      err.write(
        `tscgi ping: ${where} answered ${excerpt(response.body)}, expected ${JSON.stringify(config.ping_response)} (ping_response)\n`,
      );
      return EXIT_FAILED;
    }
    out.write(`${body}\n`);
    return EXIT_OK;
  } catch (error) {
    err.write(`tscgi ping: ${messageOf(error)}\n`);
    return EXIT_FAILED;
  }
}

/** `tscgi ping --ready`: 0 when the master says ready, 1 with its reason (starting, draining, saturated). */
async function runReady(config: ClientConfig, timeout: number, out: Output, err: Output): Promise<number> {
  if (config.status_listen === null || config.ping_path === null) {
    err.write(
      "tscgi ping --ready: readiness is answered by the master on status_listen, at ping_path?ready; " +
        "set both (status_listen = 127.0.0.1:9001, ping_path = /ping) for the server and this command\n",
    );
    return EXIT_USAGE;
  }
  const client = makeClient("ping", config, timeout, err);
  if (client === null) return EXIT_USAGE;
  try {
    const response = parseCgiResponse((await client.request(requestParams(config.ping_path, "ready"))).stdout, client.address);
    const body = response.body.toString("utf8").trim();
    if (response.status === 200) {
      out.write(`${body}\n`);
      return EXIT_OK;
    }
    if (response.status === 503) err.write(`tscgi ping --ready: ${client.address}: ${body}\n`);
    else err.write(unexpected("ping", `${client.address} ${config.ping_path}?ready`, response, "ping_path"));
    return EXIT_FAILED;
  } catch (error) {
    err.write(`tscgi ping --ready: ${messageOf(error)}\n`);
    return EXIT_FAILED;
  }
}

/** `tscgi status [--json|--prometheus|--openmetrics] [--full]`: prints the status page. */
export async function runStatus(config: ClientConfig, args: readonly string[], out: Output, err: Output): Promise<number> {
  const parsed = parseArgs("status", args, STATUS_WORDS);
  if (typeof parsed === "string") {
    err.write(`${parsed}\n`);
    return EXIT_USAGE;
  }
  const formats = parsed.words.filter((w) => FORMAT_WORDS.has(w));
  if (formats.length > 1) {
    err.write(`tscgi status: choose one of --json, --prometheus, --openmetrics (got ${formats.map((f) => `--${f}`).join(", ")})\n`);
    return EXIT_USAGE;
  }
  if (config.status_path === null) {
    err.write(
      "tscgi status: status_path is off, so the server has no status page; set status_path = /status " +
        "in the config file (or TSCGI_STATUS_PATH=/status, or --status-path /status) for both the server and this command\n",
    );
    return EXIT_USAGE;
  }
  const client = makeClient("status", config, parsed.timeout, err);
  if (client === null) return EXIT_USAGE;
  // The format first, as PHP-FPM's own examples write it: "json&full".
  const query = [...formats, ...parsed.words.filter((w) => !FORMAT_WORDS.has(w))].join("&");
  try {
    const reply = await client.request(requestParams(config.status_path, query));
    const response = parseCgiResponse(reply.stdout, client.address);
    if (response.status !== 200) {
      err.write(unexpected("status", `${client.address} ${config.status_path}`, response, "status_path"));
      return EXIT_FAILED;
    }
    const body = response.body.toString("utf8");
    out.write(body.endsWith("\n") || body === "" ? body : `${body}\n`);
    return EXIT_OK;
  } catch (error) {
    err.write(`tscgi status: ${messageOf(error)}\n`);
    return EXIT_FAILED;
  }
}
