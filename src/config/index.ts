// The configuration layer: config file + environment + flags -> one validated Config.

export type { Config, ConfigKey, LoadedConfig, Origin, ParsedConfig } from "./types.ts";
export { defaults, loadConfig, DEFAULT_CONFIG_FILE } from "./load.ts";
export { helpText } from "./help.ts";
export { autoWorkers, configKeys, envName, flagName, schema, shownDefault, SCRIPT_EXTENSIONS } from "./schema.ts";
export { splitListen, type ListenAddress } from "./address.ts";
export { clientAllowed, parseClientList, type ClientList } from "./clients.ts";
export { ConfigBadValueError, ConfigConflictError, ConfigError, ConfigFileError, ConfigUnknownKeyError } from "./errors.ts";
