// The shape of a loaded configuration, and where each of its values came from.

/** The validated settings. Keys are the config-file keys, one to one (see schema.ts). */
export interface Config {
  listen: string;
  root: string;
  mount: string;
  extensions: string[];
  index: string;
  http: string | null;
  workers: number;
  access_log: string;
  error_log: string;
  log_level: "error" | "warn" | "info" | "debug";
  max_body_size: number;
  max_params_bytes: number;
  max_params: number;
  max_requests_per_connection: number;
  max_connections: number;
  body_buffer_size: number;
  request_timeout: number;
  shutdown_timeout: number;
}

export type ConfigKey = keyof Config;

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
  /** Absolute path of the config file that was read, or null when none was. */
  source: string | null;
}

/** Where a raw value came from; every error message names it. */
export type Origin =
  | { kind: "default" }
  | { kind: "file"; file: string; line: number }
  | { kind: "env"; name: string }
  | { kind: "flag"; name: string };

/** One value as a source wrote it, before parsing. */
export interface RawValue {
  key: ConfigKey;
  /** The text handed to the key's parser. */
  raw: string;
  /** The value as the operator wrote it, for messages (JSON files may hold non-strings). */
  shown: string;
  origin: Origin;
}
