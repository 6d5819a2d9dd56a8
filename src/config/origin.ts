// Where a config value came from: the errors name it, so that the operator finds the line to fix.

/** Where a raw value came from; every error message names it. */
export type Origin =
  { kind: "default" } | { kind: "file"; file: string; line: number } | { kind: "env"; name: string } | { kind: "flag"; name: string };
