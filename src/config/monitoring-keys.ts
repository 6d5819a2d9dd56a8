// The keys of watching tscgi: the status page, ping, and the access, error and slow logs.

import { AccessFormatError, parseAccessFormat } from "./access-format.ts";
import { parseListen } from "./address.ts";
import { parseClientList } from "./clients.ts";
import { ValueRejected } from "./errors.ts";
import { CLIENTS_ALLOWED, duration, logTarget, pagePath, yesNo, type Schema } from "./value-kinds.ts";

const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

export const monitoringKeys = {
  status_path: {
    default: "off",
    ...pagePath,
    description: "URL path of the pool status page (PHP-FPM's fields; ?json, ?full, ?openmetrics)",
  },
  status_allowed_clients: {
    default: "127.0.0.1,::1",
    metavar: "LIST",
    allowed: CLIENTS_ALLOWED,
    description: "clients that may see the status page: REMOTE_ADDR, else the connection's peer, must match",
    parse: parseClientList,
  },
  ping_path: {
    default: "off",
    ...pagePath,
    description: "URL path answered with ping_response, for health checks",
  },
  ping_response: {
    default: "pong",
    metavar: "TEXT",
    allowed: "any text",
    description: "body of the ping_path answer",
    parse: (raw) => raw,
  },
  status_listen: {
    default: "off",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT, a Unix socket path, or off",
    description: "a FastCGI address of its own where the master answers status_path and ping_path, also when every worker is busy",
    parse(raw, ctx) {
      const value = raw.trim();
      return value === "" || value.toLowerCase() === "off" ? null : parseListen(value, ctx.resolvePath);
    },
  },
  access_log: {
    default: "stdout",
    metavar: "TARGET",
    allowed: "stdout, stderr, off or a file path",
    description: "where each request is logged",
    parse: (raw, ctx) => logTarget(["stdout", "stderr", "off"], raw, ctx),
  },
  access_format: {
    default: "default",
    metavar: "FORMAT",
    allowed: "default, json, or a PHP-FPM access.format string of %-tokens",
    description: "the access log line: default, json, or tokens like %R %m %r %s %d",
    parse(raw) {
      let format;
      try {
        format = parseAccessFormat(raw);
      } catch (error) {
        if (error instanceof AccessFormatError) throw new ValueRejected(error.detail);
        throw error;
      }
      return format.kind === "tokens" ? raw : format.kind;
    },
  },
  error_log: {
    default: "stderr",
    metavar: "TARGET",
    allowed: "stderr, stdout or a file path",
    description: "where errors and scripts' stderr are logged",
    parse(raw, ctx) {
      if (raw.trim().toLowerCase() === "off") {
        throw new ValueRejected("the error log cannot be turned off; name /dev/null to discard it");
      }
      return logTarget(["stderr", "stdout"], raw, ctx);
    },
  },
  log_level: {
    default: "info",
    metavar: "LEVEL",
    allowed: `one of ${LOG_LEVELS.join(", ")}`,
    description: "least severe message the error log keeps",
    parse(raw) {
      const level = raw.trim().toLowerCase();
      const found = LOG_LEVELS.find((candidate) => candidate === level);
      if (found === undefined) throw new ValueRejected();
      return found;
    },
  },
  decorate_workers_output: {
    default: "yes",
    ...yesNo,
    description: "prefix each line a worker writes to stdout or stderr with the worker's pid",
  },
  display_errors: {
    default: "no",
    ...yesNo,
    description:
      "show a script's error on its 500 page: file:line, source, stack and request, for development only; off, the page shows a request id the error log also has",
  },
  slowlog: {
    default: "stderr",
    metavar: "TARGET",
    allowed: "stderr, stdout or a file path",
    description: "where requests running longer than request_slowlog_timeout are logged",
    parse(raw, ctx) {
      if (raw.trim().toLowerCase() === "off") {
        throw new ValueRejected("turn the slow log off with request_slowlog_timeout = 0");
      }
      return logTarget(["stderr", "stdout"], raw, ctx);
    },
  },
  request_slowlog_timeout: {
    default: "0",
    ...duration,
    description: "a request running longer is logged to slowlog; 0 = off",
  },
} satisfies Partial<Schema>;
