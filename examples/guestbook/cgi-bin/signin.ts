// GET /signin : the form; POST /signin : checks the name and password, then signs in.
import type { Cgi } from "tscgi";
import { checkSignIn } from "./_lib/users.ts";
import { checkCsrf, signIn, visitor } from "./_lib/visitor.ts";

export async function GET(cgi: Cgi) {
  const who = await visitor(cgi);
  return cgi.render("signin.njk", { user: who.user, csrf: who.csrf });
}

export async function POST(cgi: Cgi) {
  const who = await visitor(cgi);
  const form = await cgi.form();
  checkCsrf(who, form.get("csrf"));
  const name = (form.get("username") ?? "").trim();
  const user = await checkSignIn(name, form.get("password") ?? "");
  if (user === null) {
    // 403, not 401: 401 promises a WWW-Authenticate scheme, and this is a form. One message for
    // both faults: which names exist is not for a visitor to find out here.
    cgi.status(403);
    return cgi.render("signin.njk", { user: who.user, csrf: who.csrf, name, error: "Wrong name or password." });
  }
  signIn(who, user);
  return cgi.redirect("/", 303);
}
