// GET /users/42 -> this script, with PATH_INFO "/42"; imports a local module from _lib/.
import type { Cgi } from "tscgi";
import { greet } from "./_lib/greeting.ts";

export default function (cgi: Cgi) {
  const id = cgi.env.PATH_INFO.slice(1);
  if (!id) return { users: ["42", "43"] };
  return { id, greeting: greet(`user ${id}`) };
}
