// The benchmark's session read and write: a counter in the visitor's session (PHP: session_start, $_SESSION).
import type { Cgi } from "tscgi";

export default async function (cgi: Cgi) {
  const session = await cgi.session<{ n: number }>();
  const n = (session.get("n") ?? 0) + 1;
  session.set("n", n);
  return `n: ${n}`;
}
