// The configuration layer: config file + environment + flags -> one validated Config.

export type { Config, ConfigKey, LoadedConfig, Origin } from "./types.ts";
export { defaults, loadConfig, DEFAULT_CONFIG_FILE } from "./load.ts";
export { helpText } from "./help.ts";
export { configKeys, envName, flagName, schema, SCRIPT_EXTENSIONS } from "./schema.ts";
export { splitListen, type ListenAddress } from "./address.ts";
export { ConfigBadValueError, ConfigError, ConfigFileError, ConfigUnknownKeyError } from "./errors.ts";
