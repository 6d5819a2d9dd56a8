// POST /post : a signed-in visitor's new message, from the form on the guestbook page.
import { HttpError, type Cgi } from "tscgi";
import { MAX_MESSAGE_LENGTH, postMessage } from "./_lib/messages.ts";
import { checkCsrf, visitor } from "./_lib/visitor.ts";

export async function POST(cgi: Cgi) {
  const who = await visitor(cgi);
  const form = await cgi.form();
  checkCsrf(who, form.get("csrf"));
  if (who.user === null) return cgi.redirect("/signin", 303);
  const body = (form.get("body") ?? "").trim();
  if (body.length === 0 || body.length > MAX_MESSAGE_LENGTH) {
    throw new HttpError(422, `A message is 1 to ${MAX_MESSAGE_LENGTH} characters.`);
  }
  await postMessage(who.user.id, body);
  // 303: the browser follows with a GET, so reloading the page does not post the message twice.
  return cgi.redirect("/", 303);
}
