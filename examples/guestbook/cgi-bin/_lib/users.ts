// The users table: signing up (a unique name, a hashed password) and checking a sign-in.
import { query } from "./db.ts";
import { decoyHash, hashPassword, verifyPassword } from "./passwords.ts";

export const MAX_NAME_LENGTH = 40;
export const MIN_PASSWORD_LENGTH = 8;
// scrypt takes any length; a bound keeps a megabyte "password" from being hashed.
const MAX_PASSWORD_LENGTH = 200;

export interface User {
  id: number;
  name: string;
}

/** What is wrong with a name and password for a new account, or null when they will do. */
export function signUpProblem(name: string, password: string): string | null {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return `A name is 1 to ${MAX_NAME_LENGTH} characters.`;
  // Control characters (newlines, NUL) would make a name that looks like another one.
  if (/\p{Cc}/u.test(name)) return "A name cannot contain control characters.";
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    return `A password is ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`;
  }
  return null;
}

/** The new account, or null when the name is taken (whatever its case). */
export async function createUser(name: string, password: string): Promise<User | null> {
  const hash = await hashPassword(password);
  const inserted = await query<{ id: string }>(
    "INSERT INTO users (username, password_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id",
    [name, hash],
  );
  const row = inserted.rows[0];
  return row === undefined ? null : { id: Number(row.id), name };
}

/** The account when the name and password match one, else null (in about the same time either way). */
export async function checkSignIn(name: string, password: string): Promise<User | null> {
  if (password.length > MAX_PASSWORD_LENGTH) return null;
  const found = await query<{ id: string; username: string; password_hash: string }>(
    "SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)",
    [name],
  );
  const row = found.rows[0];
  const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
  return ok && row !== undefined ? { id: Number(row.id), name: row.username } : null;
}
