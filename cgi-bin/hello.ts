// GET /hello?name=Ada -> "Hello, Ada"
import type { Cgi } from "tscgi";

export default function (cgi: Cgi) {
  return `Hello, ${cgi.query.get("name") ?? "world"}`;
}
