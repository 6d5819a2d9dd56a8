// Shared by the config tests: a project directory with an optional conf/tscgi.conf, and the error
// a call throws.
import type { Test } from "tap";

/** A temporary project: an empty cgi-bin/ and, when given, conf/tscgi.conf with this text. */
export function project(t: Test, conf?: string): string {
  return t.testdir({ "cgi-bin": {}, ...(conf === undefined ? {} : { conf: { "tscgi.conf": conf } }) });
}

/** The error `fn` throws; fails the test when it throws nothing. */
export function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}
