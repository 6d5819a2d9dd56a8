// The benchmark's form POST: the urlencoded fields read with cgi.form(), echoed as a count (PHP: $_POST).
import type { Cgi } from "tscgi";

export default async function (cgi: Cgi) {
  const form = await cgi.form();
  return `fields: ${Object.keys(form.nested()).length}`;
}
