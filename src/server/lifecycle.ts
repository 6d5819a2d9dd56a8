// The phases every request goes through, in order; docs/lifecycle.md draws them with their error exits.

export const phases = [
  "records", // FastCGI records or an HTTP request arrive and become params + a body source
  "admit", // max_inflight reached: 503 + Retry-After (FCGI_OVERLOADED); status_path and ping_path answered here
  "resolve", // URL path -> script file (the security boundary): 400 or 404 on refusal
  "limit", // CONTENT_LENGTH over max_body_size: 413 before the script runs
  "load", // compile (cached) and evaluate the module: 500 on a compile or export error
  "run", // call the handler: 500 (or the HttpError's status) on a throw, 504 past request_timeout
  "respond", // status + headers + body to the exchange: 500 on an invalid header, before anything is sent
  "end", // END_REQUEST (appStatus 0, or 1 when the script failed) and the access-log line
] as const;
