// Errors of the RFC 3875 layer: request bodies and response headers.
import { TscgiError } from "../errors.ts";

export class BodyTooLargeError extends TscgiError {
  readonly code = "TSCGI_E_CGI_BODY_TOO_LARGE";
  override readonly status = 413;
  constructor(limit: number) {
    super(`request body is larger than max_body_size (${limit} bytes); raise max_body_size if such bodies are expected`);
  }
}

export class InvalidHeaderError extends TscgiError {
  readonly code = "TSCGI_E_CGI_INVALID_HEADER";
  constructor(name: string, value: string) {
    super(
      `script set an invalid response header ${JSON.stringify(name)}: ${JSON.stringify(value.slice(0, 80))}; ` +
        "names must be HTTP tokens and values may not contain CR, LF or NUL",
    );
  }
}

export class InvalidStatusError extends TscgiError {
  readonly code = "TSCGI_E_CGI_INVALID_STATUS";
  constructor(status: unknown) {
    super(`script set an invalid status ${String(status)}; use an integer from 200 to 599`);
  }
}

export class BodyAbortedError extends TscgiError {
  readonly code = "TSCGI_E_CGI_BODY_ABORTED";
  override readonly status = 400;
  constructor() {
    super("the request body ended early: the web server aborted the request or closed the connection");
  }
}

export class ClientGoneError extends TscgiError {
  readonly code = "TSCGI_E_CGI_CLIENT_GONE";
  override readonly status = 499;
  constructor() {
    super("the client went away (or the web server aborted the request); stop writing: check cgi.signal in long loops");
  }
}
