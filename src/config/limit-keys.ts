// The keys of the limits and timeouts of requests and FastCGI connections.

import { FCGI_LIMIT_DEFAULTS } from "../fastcgi/limits.ts";
import { sizeText } from "./units.ts";
import { duration, integer, size, type Schema } from "./value-kinds.ts";

export const limitKeys = {
  max_body_size: {
    default: "64m",
    ...size(0),
    description: "largest request body accepted, a larger one is answered 413; 0 = unlimited",
  },
  max_params_bytes: {
    default: sizeText(FCGI_LIMIT_DEFAULTS.maxParamsBytes),
    ...size(1),
    description: "largest FastCGI params (CGI environment) of one request, in bytes",
  },
  max_params: {
    default: String(FCGI_LIMIT_DEFAULTS.maxParamsPairs),
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most FastCGI params (name-value pairs) in one request",
  },
  max_pending_params_bytes: {
    default: sizeText(FCGI_LIMIT_DEFAULTS.maxPendingParamsBytes),
    ...size(1),
    description:
      "most bytes of unfinished FastCGI params held at once for all the requests on one connection, at least max_params_bytes; more closes the connection",
  },
  max_requests_per_connection: {
    default: String(FCGI_LIMIT_DEFAULTS.maxRequests),
    // FastCGI request ids are 16 bits and id 0 is the management id (FastCGI spec, 3.3).
    ...integer(1, 65535),
    description: "most requests multiplexed at once on one FastCGI connection",
  },
  max_connections: {
    default: String(FCGI_LIMIT_DEFAULTS.maxConnections),
    ...integer(1, Number.MAX_SAFE_INTEGER),
    description: "most FastCGI connections open at once",
  },
  params_timeout: {
    default: "10s",
    ...duration,
    description:
      "longest a FastCGI connection may take to send a request's params, from its accept or its BEGIN_REQUEST; then it is closed; 0 = no limit",
  },
  keepalive_timeout: {
    default: "90s",
    ...duration,
    description:
      "how long a kept-alive FastCGI connection carrying no request stays open; keep it above the web server's own (nginx: 60s); 0 = no limit",
  },
  body_buffer_size: {
    default: sizeText(FCGI_LIMIT_DEFAULTS.stdinHighWaterMark),
    ...size(1),
    description: "unread request body buffered per request before reading from the socket pauses",
  },
  request_timeout: {
    default: "60s",
    ...duration,
    description: "longest a request may run before it is aborted; a worker stuck past it is replaced; 0 = no limit",
  },
  request_timeout_grace: {
    default: "10s",
    ...duration,
    description:
      "how long a script may go on after request_timeout aborted its request before its worker is replaced once its other requests finish; 0 = never",
  },
  shutdown_timeout: {
    default: "30s",
    ...duration,
    description: "how long SIGTERM waits for in-flight requests before exiting",
  },
  dispose_timeout: {
    default: "5s",
    ...duration,
    description:
      "how long a script module's dispose() may run, on a hot reload or when its worker stops, before tscgi goes on without it; 0 = no limit",
  },
} satisfies Partial<Schema>;
