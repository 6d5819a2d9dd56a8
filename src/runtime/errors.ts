// Errors a script gets for misusing the script API.
import { TscgiError } from "../errors.ts";

export class HeadersSentError extends TscgiError {
  readonly code = "TSCGI_E_HEADERS_SENT";
  constructor(what: string) {
    super(`cannot set ${what} after the first cgi.write(): headers are already sent; set status and headers first`);
  }
}
