// GET /env -> the CGI meta-variables this request produced, as JSON.
import type { Cgi } from "tscgi";

export default function (cgi: Cgi) {
  return { ...cgi.env };
}
