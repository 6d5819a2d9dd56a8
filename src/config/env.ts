// Settings from the environment: TSCGI_<KEY> for each key, e.g. TSCGI_MAX_BODY_SIZE=1g.

import { ConfigUnknownKeyError } from "./errors.ts";
import { configKeys, envName } from "./schema.ts";
import { suggest } from "./suggest.ts";
import type { ConfigKey, RawValue } from "./types.ts";

/** Names the config file to read, like --config; not a key of its own. */
export const CONFIG_ENV = "TSCGI_CONFIG";

/** TSCGI_* variables that are not keys; any other is a typo worth stopping for. */
const NOT_KEYS = new Set([CONFIG_ENV]);

const byEnvName = new Map(configKeys.map((key) => [envName(key), key]));

export function readEnv(env: Record<string, string | undefined>): Map<ConfigKey, RawValue> {
  const values = new Map<ConfigKey, RawValue>();
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith("TSCGI_") || NOT_KEYS.has(name)) continue;
    const key = byEnvName.get(name);
    const origin = { kind: "env", name } as const;
    if (key === undefined) throw new ConfigUnknownKeyError(name, origin, suggest(name, configKeys.map(envName)));
    values.set(key, { key, raw, shown: JSON.stringify(raw), origin });
  }
  return values;
}
