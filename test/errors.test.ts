// Every error code in src/ has a row in docs/errors.md, each row names a real code, and no code is defined twice.
import t from "tap";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isTscgiError } from "../src/errors.ts";
import { HttpError } from "../src/runtime/http-error.ts";
import { repo } from "./helpers/tscgi.ts";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const defined: string[] = [];
for (const file of sources(join(repo, "src"))) {
  for (const m of readFileSync(file, "utf8").matchAll(/code = "(TSCGI_E_[A-Z0-9_]+)"/g)) defined.push(m[1]);
}
const documented = [...readFileSync(join(repo, "docs/errors.md"), "utf8").matchAll(/^\| `(TSCGI_E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

t.test("each code is defined once", async (t) => {
  t.same(
    defined.filter((c, i) => defined.indexOf(c) !== i),
    [],
  );
  t.ok(defined.length >= 10, `${defined.length} codes found`);
});

t.test("docs/errors.md documents exactly the codes src/ defines", async (t) => {
  t.same([...new Set(documented)].sort(), [...new Set(defined)].sort());
});

t.test("errors are recognised by brand, not by class identity", async (t) => {
  const e = new HttpError(404, "no such user");
  t.ok(isTscgiError(e));
  t.equal(e.status, 404);
  t.equal(e.code, "TSCGI_E_HTTP");
  t.notOk(isTscgiError(new Error("plain")));
  t.notOk(isTscgiError({ code: "TSCGI_E_HTTP" }), "a look-alike object is not one");
  t.throws(() => new HttpError(200), RangeError);
});
