// Response status and headers: validation, and the CGI header block (RFC 3875 section 6.3).
import { InvalidHeaderError, InvalidStatusError } from "./errors.ts";

/** A flat list of header name/value pairs, kept in order (Set-Cookie may repeat). */
export type HeaderList = string[];

// RFC 9110 5.1: a field name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 5.5: CR, LF and NUL are never allowed in a field value; other controls but HTAB neither.
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

export function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new InvalidHeaderError(name, value);
}

/** True when the list has a header of that (lower-case) name, in any case. */
export function hasHeader(headers: HeaderList, lowerName: string): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === lowerName) return true;
  return false;
}

export function checkStatus(status: unknown): number {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new InvalidStatusError(status);
  }
  return status;
}

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Unknown";
}

const statusLines = new Map<number, string>();

/**
 * `Status: 200 OK\r\nName: value\r\n...\r\n\r\n`, the CGI header block nginx and Apache parse.
 * Headers must already be validated; the status line is cached because it repeats on every request.
 */
export function formatCgiHead(status: number, headers: HeaderList): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `Status: ${status} ${reasonPhrase(status)}\r\n`;
    statusLines.set(status, line);
  }
  let head = line;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + "\r\n";
}
