// What a request's `cgi` reaches through interfaces for forms, signed cookies and sessions: built
// once per process by the server (src/server/toolkit.ts) from the config, so the runtime itself
// touches no disk and no network.
import type { CookieSigner } from "./cookie-signing.ts";
import type { FormLimits, FormParser } from "./form.ts";
import type { SessionRules } from "./session.ts";
import type { SessionStore } from "./session-store.ts";

export interface Toolkit {
  /** Streams form bodies, files to upload_tmp_dir. */
  readonly forms: FormParser;
  readonly formLimits: FormLimits;
  /** Signs and checks cookies with cookie_secret's keys. */
  readonly signer: CookieSigner;
  readonly sessions: SessionStore;
  readonly sessionRules: SessionRules;
  /** session_cookie: the cookie that carries the session id. */
  readonly sessionCookie: string;
  /** A session gc that failed in the background (the request it started in carries on). */
  onSessionGcError(error: unknown): void;
}
