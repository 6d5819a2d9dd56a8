// docs/lifecycle.md draws the phases src/server/lifecycle.ts lists, in the same order.
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { phases } from "../../src/server/lifecycle.ts";
import { repo } from "../helpers/tscgi.ts";

t.test("the lifecycle table has one row per phase, in order", async (t) => {
  const doc = readFileSync(join(repo, "docs/lifecycle.md"), "utf8");
  const rows = [...doc.matchAll(/^\| (\w+) \| /gm)].map((m) => m[1]).filter((p) => p !== "phase");
  t.same(rows, [...phases]);
});
