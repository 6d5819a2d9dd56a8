// Errors a script gets for misusing the script API.
import { TscgiError, messageOf } from "../errors.ts";

export class HeadersSentError extends TscgiError {
  readonly code = "TSCGI_E_API_HEADERS_SENT";
  constructor(what: string) {
    super(`cannot set ${what} after the first cgi.write(): headers are already sent; set status and headers first`);
  }
}

export class CookieInvalidError extends TscgiError {
  readonly code = "TSCGI_E_API_COOKIE_INVALID";
  constructor(name: string, fault: string) {
    super(`cookie ${JSON.stringify(name.slice(0, 80))}: ${fault}`);
  }
}

export class CookieSecretMissingError extends TscgiError {
  readonly code = "TSCGI_E_API_COOKIE_SECRET_MISSING";
  constructor(name: string) {
    super(
      `cookie ${JSON.stringify(name.slice(0, 80))} is signed, but cookie_secret is empty; ` +
        "set cookie_secret to a random string of at least 32 characters (e.g. openssl rand -base64 32)",
    );
  }
}

/** A form or upload over one of its limits: 413, naming the config key to raise. */
abstract class FormLimitError extends TscgiError {
  override readonly status = 413;
  constructor(what: string, key: string, limit: number) {
    super(`${what} (${key} = ${limit}); raise ${key} if such forms are expected`);
  }
}

export class UploadTooLargeError extends FormLimitError {
  readonly code = "TSCGI_E_API_UPLOAD_TOO_LARGE";
  constructor(field: string, limit: number) {
    super(
      `an uploaded file in field ${JSON.stringify(field.slice(0, 80))} is larger than upload_max_file_size`,
      "upload_max_file_size",
      limit,
    );
  }
}

export class UploadTooManyFilesError extends FormLimitError {
  readonly code = "TSCGI_E_API_UPLOAD_TOO_MANY_FILES";
  constructor(limit: number) {
    super("the form holds more files than upload_max_files", "upload_max_files", limit);
  }
}

export class FormTooManyFieldsError extends FormLimitError {
  readonly code = "TSCGI_E_API_FORM_TOO_MANY_FIELDS";
  constructor(limit: number) {
    super("the form holds more fields than form_max_fields", "form_max_fields", limit);
  }
}

export class FormFieldTooLargeError extends FormLimitError {
  readonly code = "TSCGI_E_API_FORM_FIELD_TOO_LARGE";
  constructor(field: string, limit: number) {
    super(
      `the name or value of form field ${JSON.stringify(field.slice(0, 80))} is longer than form_max_field_size bytes`,
      "form_max_field_size",
      limit,
    );
  }
}

export class FormMalformedError extends TscgiError {
  readonly code = "TSCGI_E_API_FORM_MALFORMED";
  override readonly status = 400;
  constructor(detail: string) {
    super(`the request body is not a well-formed form: ${detail}`);
  }
}

export class FormContentTypeError extends TscgiError {
  readonly code = "TSCGI_E_API_FORM_CONTENT_TYPE";
  override readonly status = 415;
  constructor(type: string) {
    super(
      `cgi.form() reads application/x-www-form-urlencoded and multipart/form-data bodies, not ${JSON.stringify(type.slice(0, 80))}; ` +
        "use cgi.json() or cgi.text() for other bodies",
    );
  }
}

export class SessionLockTimeoutError extends TscgiError {
  readonly code = "TSCGI_E_API_SESSION_LOCK_TIMEOUT";
  override readonly status = 503;
  constructor(timeoutMs: number) {
    super(
      `another request of the same session held its lock for longer than session_lock_timeout (${timeoutMs} ms); ` +
        "a long request should call await session.close() once it has changed the session, or raise session_lock_timeout",
    );
  }
}

export class SessionStoreError extends TscgiError {
  readonly code = "TSCGI_E_API_SESSION_STORE";
  constructor(store: string, action: string, cause: unknown) {
    super(`the ${store} session store could not ${action}: ${messageOf(cause)}; check session_store and its settings`, { cause });
  }
}

export class SessionDataError extends TscgiError {
  readonly code = "TSCGI_E_API_SESSION_DATA";
  constructor(key: string, fault: string) {
    super(
      `session key ${JSON.stringify(key.slice(0, 80))}: ${fault}; a session holds JSON values only (strings, finite numbers, booleans, null, arrays and plain objects of them)`,
    );
  }
}

export class SessionClosedError extends TscgiError {
  readonly code = "TSCGI_E_API_SESSION_CLOSED";
  constructor(action: string) {
    super(`cannot ${action} after session.close(): the session was saved and its lock released; change it before closing it`);
  }
}

export class UploadStorageError extends TscgiError {
  readonly code = "TSCGI_E_API_UPLOAD_STORAGE";
  constructor(dir: string, cause: unknown) {
    super(
      `cannot write an uploaded file under upload_tmp_dir (${dir}): ${messageOf(cause)}; ` +
        "make the directory writable by tscgi's user, free space on its disk, or point upload_tmp_dir elsewhere",
      { cause },
    );
  }
}

/** Two ways of reading one request body: the first took the bytes, the second would find none. */
export class BodyConsumedError extends TscgiError {
  readonly code = "TSCGI_E_API_BODY_CONSUMED";
  constructor(first: string, second: string) {
    super(
      `${second} cannot read the request body: ${first} has read it already; read a body one way per request ` +
        "(cgi.form(), cgi.json() and cgi.text() may each be called again and return the same result)",
    );
  }
}

export class BodyJsonError extends TscgiError {
  readonly code = "TSCGI_E_API_BODY_JSON";
  override readonly status = 400;
  constructor(detail: string) {
    super(`the request body is not valid JSON: ${detail}`);
  }
}

export class RedirectInvalidError extends TscgiError {
  readonly code = "TSCGI_E_API_REDIRECT_INVALID";
  constructor(fault: string) {
    super(`cgi.redirect(): ${fault}`);
  }
}
