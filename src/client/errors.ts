// Errors of the FastCGI client behind `tscgi ping` and `tscgi status`: each names the address.

import { TscgiError } from "../errors.ts";

/** The connection could not be made: nothing listens there, no such socket, no permission. */
export class ClientConnectError extends TscgiError {
  readonly code = "TSCGI_E_CLIENT_CONNECT";
  readonly address: string;
  constructor(address: string, cause: NodeJS.ErrnoException) {
    super(`cannot connect to ${address} (${cause.code ?? cause.message}): ${hint(cause.code)}`, { cause });
    this.address = address;
  }
}

function hint(code: string | undefined): string {
  switch (code) {
    case "ECONNREFUSED":
      return "nothing listens there; is tscgi running, with the same `listen` as this command?";
    case "ENOENT":
      return "no socket at that path; is tscgi running, with the same `listen` as this command?";
    case "EACCES":
    case "EPERM":
      return "permission denied; run as a user that listen_owner/listen_group/listen_mode let in.";
    default:
      return "check `listen` and that tscgi is running.";
  }
}

/** No END_REQUEST (or GET_VALUES_RESULT) within the timeout. */
export class ClientTimeoutError extends TscgiError {
  readonly code = "TSCGI_E_CLIENT_TIMEOUT";
  readonly address: string;
  constructor(address: string, ms: number) {
    super(
      `no answer from ${address} within ${ms} ms: the server is overloaded, stuck, or is not a FastCGI ` +
        `server; pass --timeout to wait longer.`,
    );
    this.address = address;
  }
}

/** The peer answered, but not with a complete FastCGI response. */
export class ClientProtocolError extends TscgiError {
  readonly code = "TSCGI_E_CLIENT_PROTOCOL";
  readonly address: string;
  constructor(address: string, what: string) {
    super(`${address} ${what}`);
    this.address = address;
  }
}
