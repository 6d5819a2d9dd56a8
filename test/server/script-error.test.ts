// describeError: a script failure as one error-log line, with the script's file:line, whatever
// request data the thrown message quotes.
import t from "tap";
import { join } from "node:path";
import { describeError } from "../../src/server/script-error.ts";

const root = join(process.cwd(), "cgi-bin");

t.test("a thrown message quoting the request stays on one line, escaped", async (t) => {
  const error = new Error("no such user: 42\n[2026-12-02T00:00:00.000Z] ERROR: FORGED\r\x1b[2J\x9b");
  error.stack = `Error: ${error.message}\n    at handler (${join(root, "users.ts")}:4:9)`;
  t.equal(
    describeError(error, root),
    "Error: no such user: 42\\x0a[2026-12-02T00:00:00.000Z] ERROR: FORGED\\x0d\\x1b[2J\\x9b at cgi-bin/users.ts:4:9",
  );
});

t.test("a cause's message and a thrown non-error are escaped too", async (t) => {
  const error = new TypeError("bad header", { cause: new Error("value\nERROR: x") });
  error.stack = "TypeError: bad header";
  t.equal(describeError(error, root), "TypeError: bad header (cause: value\\x0aERROR: x)");
  t.equal(describeError("line\nbreak\x1b", root), "non-error thrown: line\\x0abreak\\x1b");
});
