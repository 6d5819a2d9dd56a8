// GET /form shows a form; POST /form echoes its fields back.
import type { Cgi } from "tscgi";

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

export default async function (cgi: Cgi) {
  if (cgi.env.REQUEST_METHOD !== "POST") {
    return `<!doctype html><form method="post"><input name="name"><input name="message"><button>Send</button></form>`;
  }
  const form = await cgi.request.formData();
  const rows = [...form].map(([k, v]) => `<li>${escape(k)} = ${escape(typeof v === "string" ? v : v.name)}</li>`);
  return `<!doctype html><ul>${rows.join("")}</ul>`;
}
