// POST /delete/42 : deletes message 42 when the signed-in visitor wrote it; 403 for another's.
import { HttpError, type Cgi } from "tscgi";
import { deleteMessage } from "../_lib/messages.ts";
import { checkCsrf, visitor } from "../_lib/visitor.ts";

export async function POST(cgi: Cgi) {
  const who = await visitor(cgi);
  const form = await cgi.form();
  checkCsrf(who, form.get("csrf"));
  if (who.user === null) return cgi.redirect("/signin", 303);
  const id = cgi.params.id ?? "";
  // Ids are bigints: anything else names no message (and never reaches the SQL as text to parse).
  if (!/^[1-9][0-9]{0,17}$/.test(id)) throw new HttpError(404, "No such message.");
  const outcome = await deleteMessage(id, who.user.id);
  if (outcome === "not found") throw new HttpError(404, "No such message.");
  if (outcome === "not yours") throw new HttpError(403, "You can delete only your own messages.");
  const page = form.get("page") ?? "";
  return cgi.redirect(/^[1-9][0-9]{0,8}$/.test(page) && page !== "1" ? `/?page=${page}` : "/", 303);
}
