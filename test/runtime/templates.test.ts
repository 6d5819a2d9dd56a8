// Template names: a path below the templates directory, or a coded refusal naming the fault.
import t from "tap";
import { isTscgiError } from "../../src/errors.ts";
import { TemplateNameError, checkTemplateName } from "../../src/runtime/templates.ts";

t.test("names below the directory pass as they are", async (t) => {
  for (const name of ["page.njk", "partials/nav.njk", "a/b/c.html", "with space.njk", "..hidden.njk", "x..njk", ".layout.njk"]) {
    t.equal(checkTemplateName(name), name);
  }
});

t.test("names that could leave the directory are refused with TSCGI_E_API_TEMPLATE_NAME", async (t) => {
  const refused: Array<[unknown, RegExp]> = [
    ["", /it is empty/],
    ["../secret.njk", /contains a "\.\." segment/],
    ["partials/../../secret.njk", /contains a "\.\." segment/],
    ["..", /contains a "\.\." segment/],
    ["./page.njk", /contains a "\." segment/],
    ["/etc/passwd", /it is an absolute path/],
    ["//server/share.njk", /it is an absolute path/],
    ["a//b.njk", /empty segment/],
    ["partials/", /empty segment/],
    ["..\\secret.njk", /backslash/],
    ["C:\\secret.njk", /backslash/],
    ["page.njk\0.txt", /NUL/],
    [undefined, /not a string/],
    [42, /not a string/],
  ];
  for (const [name, fault] of refused) {
    const error = t.throws(() => checkTemplateName(name), TemplateNameError, JSON.stringify(name)) as unknown as TemplateNameError;
    t.ok(isTscgiError(error));
    t.equal(error.code, "TSCGI_E_API_TEMPLATE_NAME");
    t.equal(error.status, 500);
    t.match(error.message, fault);
    t.match(error.message, /name a file below the templates directory/);
  }
});
