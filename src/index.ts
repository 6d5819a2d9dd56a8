// The package's public surface, what `import ... from "tscgi"` gives a script.
export type { Cgi, CgiEnv, CgiHandler, FetchHandler, ScriptResult } from "./runtime/types.ts";
export { TscgiError, isTscgiError } from "./errors.ts";
export { HttpError } from "./runtime/http-error.ts";
export { Html, escapeHtml, html, isHtml, unsafeHtml, type HtmlValue } from "./runtime/html.ts";
