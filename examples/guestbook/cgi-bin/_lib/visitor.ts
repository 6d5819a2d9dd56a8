// Who is asking: the signed-in account kept in the session, and the session's CSRF token.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { HttpError, type Cgi, type Session } from "tscgi";

interface GuestbookSession {
  userId?: number;
  username?: string;
  csrf?: string;
}

export interface Visitor {
  session: Session<GuestbookSession>;
  user: { id: number; name: string } | null;
  /** Goes in a hidden `csrf` field of every form that POSTs. */
  csrf: string;
}

/** Opens the session, giving it a CSRF token on first use. */
export async function visitor(cgi: Cgi): Promise<Visitor> {
  const session = await cgi.session<GuestbookSession>();
  let csrf = session.get("csrf");
  if (csrf === undefined) {
    csrf = randomBytes(32).toString("base64url");
    session.set("csrf", csrf);
  }
  const userId = session.get("userId");
  const username = session.get("username");
  const user = userId !== undefined && username !== undefined ? { id: userId, name: username } : null;
  return { session, user, csrf };
}

/**
 * Refuses (403) a POST whose `csrf` field is not this session's token: another site can make a
 * visitor's browser send the form, but cannot read the token from our page to put in it.
 */
export function checkCsrf(who: Visitor, sent: string | null | undefined): void {
  const expected = Buffer.from(who.csrf);
  const got = Buffer.from(sent ?? "");
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new HttpError(403, "The form has expired or did not come from this site: reload the page and send it again.");
  }
}

/** Starts a signed-in session under a new id, so an id known before sign-in is worth nothing after. */
export function signIn(who: Visitor, user: { id: number; name: string }): void {
  who.session.regenerate();
  who.session.set("userId", user.id);
  who.session.set("username", user.name);
  who.session.set("csrf", randomBytes(32).toString("base64url"));
}
