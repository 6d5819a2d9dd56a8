// GET /hello?name=Ada -> "Hello, Ada" (html`` escapes the name: ?name=<script> shows as text)
import { html, type Cgi } from "tscgi";

export default function (cgi: Cgi) {
  return html`Hello, ${cgi.query.get("name") ?? "world"}`;
}
