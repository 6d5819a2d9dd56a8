// GET /signup : the form; POST /signup : a new account, signed in at once.
import type { Cgi } from "tscgi";
import { createUser, MAX_NAME_LENGTH, MIN_PASSWORD_LENGTH, signUpProblem } from "./_lib/users.ts";
import { checkCsrf, signIn, visitor } from "./_lib/visitor.ts";

const page = (cgi: Cgi, data: Record<string, unknown>) =>
  cgi.render("signup.njk", { maxName: MAX_NAME_LENGTH, minPassword: MIN_PASSWORD_LENGTH, ...data });

export async function GET(cgi: Cgi) {
  const who = await visitor(cgi);
  return page(cgi, { user: who.user, csrf: who.csrf });
}

export async function POST(cgi: Cgi) {
  const who = await visitor(cgi);
  const form = await cgi.form();
  checkCsrf(who, form.get("csrf"));
  const name = (form.get("username") ?? "").trim();
  const password = form.get("password") ?? "";
  const problem = signUpProblem(name, password);
  if (problem !== null) {
    cgi.status(422);
    return page(cgi, { user: who.user, csrf: who.csrf, name, error: problem });
  }
  const user = await createUser(name, password);
  if (user === null) {
    cgi.status(409);
    return page(cgi, { user: who.user, csrf: who.csrf, name, error: "That name is taken: choose another." });
  }
  signIn(who, user);
  return cgi.redirect("/", 303);
}
