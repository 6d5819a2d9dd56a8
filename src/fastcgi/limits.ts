// The FastCGI layer's limits and their defaults: one table that the connection and the config keys both read.

/** Each limit's config key is named beside it; docs/config.md says what crossing it does. */
export const FCGI_LIMIT_DEFAULTS = Object.freeze({
  /** max_params_bytes */
  maxParamsBytes: 128 * 1024,
  /** max_pending_params_bytes */
  maxPendingParamsBytes: 512 * 1024,
  /** max_params */
  maxParamsPairs: 1000,
  /** max_requests_per_connection */
  maxRequests: 100,
  /** max_connections */
  maxConnections: 1024,
  /** body_buffer_size */
  stdinHighWaterMark: 256 * 1024,
});
