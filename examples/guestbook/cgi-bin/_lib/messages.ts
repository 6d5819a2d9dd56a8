// The messages table: a page of them with their authors, posting one, deleting one's own.
import { query } from "./db.ts";

/** Messages on a page of the list. */
const PAGE_SIZE = 10;
/** Longest message, in characters; the table's CHECK says the same. */
export const MAX_MESSAGE_LENGTH = 2000;

interface MessageView {
  id: string;
  body: string;
  author: string;
  authorId: number;
  /** "2026-12-03 02:40 UTC" */
  posted: string;
}

export interface MessagePage {
  messages: MessageView[];
  /** Pages in all; at least 1, an empty guestbook being one empty page. */
  pages: number;
  total: number;
}

interface MessageRow {
  id: string;
  body: string;
  author: string;
  author_id: string;
  created_at: Date;
  total: string;
}

/** Page `page` (1 is the newest), with the count of all messages from the same statement. */
export async function messagePage(page: number): Promise<MessagePage> {
  const { rows } = await query<MessageRow>(
    `SELECT m.id, m.body, u.username AS author, m.user_id AS author_id, m.created_at, count(*) OVER () AS total
       FROM messages m JOIN users u ON u.id = m.user_id
      ORDER BY m.id DESC
      LIMIT $1 OFFSET $2`,
    [PAGE_SIZE, (page - 1) * PAGE_SIZE],
  );
  // Past the last page there are no rows to carry the total: ask for it alone.
  const first = rows[0];
  const total =
    first !== undefined ? Number(first.total) : Number((await query<{ n: string }>("SELECT count(*) AS n FROM messages")).rows[0]?.n ?? 0);
  return {
    messages: rows.map((row) => ({
      id: row.id,
      body: row.body,
      author: row.author,
      authorId: Number(row.author_id),
      posted: row.created_at.toISOString().slice(0, 16).replace("T", " ") + " UTC",
    })),
    pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
    total,
  };
}

export async function postMessage(userId: number, body: string): Promise<void> {
  await query("INSERT INTO messages (user_id, body) VALUES ($1, $2)", [userId, body]);
}

/** Deletes message `id` if `userId` wrote it; says why not otherwise. */
export async function deleteMessage(id: string, userId: number): Promise<"deleted" | "not found" | "not yours"> {
  const deleted = await query("DELETE FROM messages WHERE id = $1 AND user_id = $2", [id, userId]);
  if (deleted.rowCount === 1) return "deleted";
  const exists = await query("SELECT 1 FROM messages WHERE id = $1", [id]);
  return exists.rowCount === 0 ? "not found" : "not yours";
}
