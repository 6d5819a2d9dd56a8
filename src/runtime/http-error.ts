// An error a script throws on purpose to answer with a given status (404, 403, 400 ...).
import { TscgiError } from "../errors.ts";

export class HttpError extends TscgiError {
  readonly code = "TSCGI_E_HTTP";
  override readonly status: number;

  /** `throw new HttpError(404, "no such user")` answers 404 with that message as the body. */
  constructor(status: number, message?: string) {
    super(message ?? `HTTP ${status}`);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be an integer 400-599, got ${status}`);
    }
    this.status = status;
  }
}
