// The package's public surface, what `import ... from "tscgi"` gives a script.
export type {
  Cgi,
  CgiEnv,
  CgiHandler,
  DeleteCookieOptions,
  ErrorPageHandler,
  ErrorPageInfo,
  FetchHandler,
  RedirectStatus,
  ScriptResult,
  SetCookieOptions,
} from "./runtime/types.ts";
export type { CookieOptions, RequestCookies, SameSite } from "./runtime/cookies.ts";
export type { Form, NestedObject, NestedValue, UploadedFile } from "./runtime/form.ts";
export type { Session, SessionShape } from "./runtime/session.ts";
export type { SessionData, SessionValue } from "./runtime/session-store.ts";
export { TscgiError, isTscgiError } from "./errors.ts";
export { HttpError, type HttpErrorOptions } from "./runtime/http-error.ts";
export { Html, escapeHtml, html, isHtml, unsafeHtml, type HtmlValue } from "./runtime/html.ts";
