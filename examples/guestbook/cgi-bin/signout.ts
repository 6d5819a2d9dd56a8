// POST /signout : ends the session (a POST with the CSRF token, so another site cannot sign a visitor out).
import type { Cgi } from "tscgi";
import { checkCsrf, visitor } from "./_lib/visitor.ts";

export async function POST(cgi: Cgi) {
  const who = await visitor(cgi);
  checkCsrf(who, (await cgi.form()).get("csrf"));
  who.session.destroy();
  return cgi.redirect("/", 303);
}
