// GET /form shows a form; POST /form echoes its fields back, escaped.
import { html, type Cgi } from "tscgi";

export default async function (cgi: Cgi) {
  if (cgi.env.REQUEST_METHOD !== "POST") {
    return html`<!doctype html>
      <form method="post"><input name="name" /><input name="message" /><button>Send</button></form>`;
  }
  const form = await cgi.form();
  // Text fields as they are, a[] lists and files as JSON; html`` escapes either.
  const shown = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
  const rows = Object.entries(form.nested()).map(([name, value]) => html`<li>${name} = ${shown(value)}</li>`);
  return html`<!doctype html>
    <ul>
      ${rows}
    </ul>`;
}
