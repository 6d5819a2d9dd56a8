// GET / : the guestbook, newest first, PAGE_SIZE messages a page (?page=2), with the form to post.
import { HttpError, type Cgi } from "tscgi";
import { messagePage, MAX_MESSAGE_LENGTH } from "./_lib/messages.ts";
import { visitor } from "./_lib/visitor.ts";

export async function GET(cgi: Cgi) {
  const page = pageNumber(cgi.query.get("page"));
  const who = await visitor(cgi);
  const { messages, pages, total } = await messagePage(page);
  return cgi.render("index.njk", { user: who.user, csrf: who.csrf, messages, page, pages, total, maxLength: MAX_MESSAGE_LENGTH });
}

function pageNumber(raw: string | null): number {
  if (raw === null || raw === "") return 1;
  // Up to 9 digits: OFFSET stays a safe integer however far a visitor pages.
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new HttpError(400, "page must be a whole number from 1 up.");
  return Number(raw);
}
