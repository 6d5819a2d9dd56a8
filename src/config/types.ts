// The shape of a loaded configuration, and where each of its values came from.

import type { ClientList } from "./clients.ts";
import type { Origin } from "./origin.ts";

/** The validated settings. Keys are the config-file keys, one to one (see schema.ts). */
export interface Config {
  listen: string;
  listen_backlog: number;
  /** File mode bits of a Unix socket, e.g. 0o660. */
  listen_mode: number;
  /** uid and gid a Unix socket is given; null keeps the process's own. */
  listen_owner: number | null;
  listen_group: number | null;
  /** null: any client. */
  allowed_clients: ClientList | null;
  root: string;
  /** The templates directory: `templates` beside root unless set. */
  templates: string;
  mount: string;
  extensions: string[];
  index: string;
  /** null: `tscgi cgi` compiles every request's scripts afresh. */
  cgi_cache_dir: string | null;
  /** URL paths of scripts loaded at start-up. */
  preload: string[];
  http: string | null;
  /** Worker processes ("auto" resolved to the CPU count); 0 is a single process. */
  workers: number;
  pm: "static" | "dynamic" | "ondemand";
  pm_start_servers: number;
  pm_min_spare_servers: number;
  pm_max_spare_servers: number;
  pm_process_idle_timeout: number;
  max_requests: number;
  /** Whole requests: each worker's limit is max_requests + a random 0..max_requests_jitter. */
  max_requests_jitter: number;
  worker_memory_limit: number;
  worker_malloc_arena_max: number;
  /** MiB; 0: Node's default. */
  worker_semi_space_size: number;
  worker_idle_gc: number;
  worker_max_age: number;
  max_inflight: number;
  overload_retry_after: number;
  respawn_backoff_max: number;
  clear_env: boolean;
  /** Variables scripts get: [name, null] passes tscgi's own value on, [name, value] sets one. */
  env: Array<[name: string, value: string | null]>;
  status_path: string | null;
  status_allowed_clients: ClientList | null;
  ping_path: string | null;
  ping_response: string;
  /** Where the master answers status and ping itself; null: only the workers do, on listen. */
  status_listen: string | null;
  access_log: string;
  /** "default", "json", or a PHP-FPM format string (see access-format.ts). */
  access_format: string;
  error_log: string;
  log_level: "error" | "warn" | "info" | "debug";
  decorate_workers_output: boolean;
  /** Development: a script's 500 shows its error, source and stack. */
  display_errors: boolean;
  slowlog: string;
  request_slowlog_timeout: number;
  max_body_size: number;
  max_params_bytes: number;
  max_params: number;
  max_pending_params_bytes: number;
  max_requests_per_connection: number;
  max_connections: number;
  params_timeout: number;
  keepalive_timeout: number;
  body_buffer_size: number;
  request_timeout: number;
  request_timeout_grace: number;
  shutdown_timeout: number;
  dispose_timeout: number;
  upload_tmp_dir: string;
  /** 0: no limit but max_body_size. */
  upload_max_file_size: number;
  upload_max_files: number;
  form_max_fields: number;
  form_max_field_size: number;
  /** Newest first: the first signs, every one verifies. */
  cookie_secret: string[];
  session_store: "file" | "redis" | "memory";
  session_save_path: string;
  session_redis_url: string;
  session_cookie: string;
  session_idle_timeout: number;
  session_max_lifetime: number;
  session_lock_timeout: number;
  /** A fraction from 0 to 1. */
  session_gc_probability: number;
}

export type ConfigKey = keyof Config;

/** The keys whose parsed value is not yet final: resolve.ts settles them from other keys. */
type Unsettled = "pm_start_servers" | "pm_max_spare_servers" | "max_requests_jitter" | "listen_owner" | "listen_group" | "templates";

/** A key's value as its parser gives it; Config is this with the unsettled keys resolved. */
export interface ParsedConfig extends Omit<Config, Unsettled> {
  pm_start_servers: number | "auto";
  pm_max_spare_servers: number | "auto";
  /** A count of requests, or a percentage of max_requests. */
  max_requests_jitter: { amount: number; percent: boolean };
  /** A name until the key's check looks it up. */
  listen_owner: number | string | null;
  listen_group: number | string | null;
  /** null: beside root. */
  templates: string | null;
}

/** What `loadConfig` hands the CLI: the settings plus what the command line asked for. */
export interface LoadedConfig {
  config: Config;
  /** First positional argument: "serve" when there is none, else "cgi", "help", "version", ... */
  command: string;
  /** The positional arguments after the command. */
  args: string[];
  /** `--help` / `-h` was given. */
  help: boolean;
  /** `--version` / `-v` was given. */
  version: boolean;
  /** `--test-config` / `-t` was given: check the configuration, report, and exit. */
  testConfig: boolean;
  /** Absolute path of the config file that was read, or null when none was. */
  source: string | null;
}

/** One value as a source wrote it, before parsing. */
export interface RawValue {
  key: ConfigKey;
  /** The text handed to the key's parser. */
  raw: string;
  /** The value as the operator wrote it, for messages (JSON files may hold non-strings). */
  shown: string;
  origin: Origin;
}
