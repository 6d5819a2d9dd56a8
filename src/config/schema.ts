// The one list of configuration keys: default, parser, allowed values and meaning of each.
// The config file, environment variables, flags, --help, conf/tscgi.conf and docs/config.md
// all follow it; a key that is not here does not exist. Each section's keys are defined in its
// own *-keys.ts; the order they are spread in below is the order of --help and the docs.

import { limitKeys } from "./limit-keys.ts";
import { monitoringKeys } from "./monitoring-keys.ts";
import { poolKeys } from "./pool-keys.ts";
import { servingKeys } from "./serving-keys.ts";
import { toolkitKeys } from "./toolkit-keys.ts";
import type { ConfigKey } from "./types.ts";
import type { Schema } from "./value-kinds.ts";

export const schema: Schema = {
  ...servingKeys,
  ...poolKeys,
  ...monitoringKeys,
  ...limitKeys,
  ...toolkitKeys,
};

/** A default as --help, conf/tscgi.conf and docs/config.md write it: "" stays visible. */
export function shownDefault(key: ConfigKey): string {
  const value = schema[key].default;
  return value === "" ? '""' : value;
}

/** The keys in schema order: the order of --help, conf/tscgi.conf and docs/config.md. */
export const configKeys = Object.keys(schema) as ConfigKey[];

/** `max_body_size` -> `TSCGI_MAX_BODY_SIZE`. */
export function envName(key: string): string {
  return `TSCGI_${key.toUpperCase()}`;
}

/** `max_body_size` -> `--max-body-size`. */
export function flagName(key: string): string {
  return `--${key.replaceAll("_", "-")}`;
}
