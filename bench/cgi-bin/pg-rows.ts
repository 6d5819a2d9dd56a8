// The benchmark's database page: 20 rows read from PostgreSQL through a pool kept at module scope, rendered as an HTML table.
import { html } from "tscgi";
import { rows20 } from "./_lib/pg-rows.ts";

export default async function () {
  const rows = await rows20();
  // The same markup, byte for byte, as bench/php/pg-rows.php: kept out of Prettier's HTML formatting.
  // prettier-ignore
  return html`<!doctype html>
<html><head><meta charset="utf-8"><title>Rows</title></head><body>
<table>
<tr><th>id</th><th>name</th><th>email</th><th>note</th></tr>
${rows.map((r) => html`<tr><td>${r.id}</td><td>${r.name}</td><td>${r.email}</td><td>${r.note}</td></tr>\n`)}</table>
</body></html>
`;
}
