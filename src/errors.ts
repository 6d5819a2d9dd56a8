// The base of every tscgi error: a stable code, an HTTP status, and a message that says what to do.

// A Symbol.for brand survives hot reload and duplicate copies of this module, where instanceof would not.
const BRAND = Symbol.for("tscgi.error");

export abstract class TscgiError extends Error {
  /** Stable identifier, `TSCGI_E_...`; never reused for another fault. */
  abstract readonly code: string;
  /** The HTTP status a request that fails with this error is answered with. */
  readonly status: number = 500;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  get [BRAND](): true {
    return true;
  }
}

/** True for any tscgi error, whichever copy of this module created it. */
export function isTscgiError(value: unknown): value is TscgiError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** What went wrong, in one line: an Error's message, or anything else thrown as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What went wrong and where, for a log: an Error's stack (its message when it has none), or anything else as a string. */
export function stackOf(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
