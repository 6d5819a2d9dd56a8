// Errors a script gets for misusing the script API.
import { TscgiError } from "../errors.ts";

export class HeadersSentError extends TscgiError {
  readonly code = "TSCGI_E_HEADERS_SENT";
  constructor(what: string) {
    super(`cannot set ${what} after the first cgi.write(): headers are already sent; set status and headers first`);
  }
}

export class CookieError extends TscgiError {
  readonly code = "TSCGI_E_COOKIE_INVALID";
  constructor(name: string, fault: string) {
    super(`cookie ${JSON.stringify(name.slice(0, 80))}: ${fault}`);
  }
}

export class CookieSecretMissingError extends TscgiError {
  readonly code = "TSCGI_E_COOKIE_SECRET_MISSING";
  constructor(name: string) {
    super(
      `cookie ${JSON.stringify(name.slice(0, 80))} is signed, but cookie_secret is empty; ` +
        "set cookie_secret to a random string of at least 32 characters (e.g. openssl rand -base64 32)",
    );
  }
}
