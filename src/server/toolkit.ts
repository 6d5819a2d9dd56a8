// The toolkit a serving process hands every request's `cgi`: the upload spooler, the cookie signer,
// the session store and the template renderer, built once per process from the config (Redis
// connects, and Nunjucks loads, on first use).
import type { Config } from "../config/types.ts";
import { CookieSigner } from "../runtime/cookie-signing.ts";
import type { Toolkit } from "../runtime/toolkit.ts";
import { createFormParser, createSessionStore, formLimits, sessionRules } from "../stores/from-config.ts";
import type { Logger } from "./log.ts";
import { NunjucksTemplates } from "./templates.ts";
import { messageOf } from "../errors.ts";

export type ToolkitConfig = Pick<
  Config,
  | "upload_tmp_dir"
  | "upload_max_file_size"
  | "upload_max_files"
  | "form_max_fields"
  | "form_max_field_size"
  | "max_body_size"
  | "cookie_secret"
  | "session_store"
  | "session_save_path"
  | "session_redis_url"
  | "session_cookie"
  | "session_idle_timeout"
  | "session_max_lifetime"
  | "session_lock_timeout"
  | "session_gc_probability"
  | "request_timeout"
  | "templates"
>;

/** `watchTemplates`: off for a process that serves one request (tscgi cgi), where an edit cannot matter. */
export function createToolkit(config: ToolkitConfig, log?: Logger, watchTemplates = true): Toolkit {
  return {
    forms: createFormParser(config),
    formLimits: formLimits(config),
    signer: new CookieSigner(config.cookie_secret),
    sessions: createSessionStore(config),
    sessionRules: sessionRules(config),
    sessionCookie: config.session_cookie,
    templates: new NunjucksTemplates({ dir: config.templates, watch: watchTemplates, log: (message) => log?.warn(message) }),
    onSessionGcError: (error) => log?.warn(`session gc failed: ${messageOf(error)}`),
  };
}
