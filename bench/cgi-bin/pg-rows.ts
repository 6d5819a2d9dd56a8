// The benchmark's database page: 20 rows read from PostgreSQL through a pool kept at module scope, rendered as an HTML table.
import pg from "pg";
import { html } from "tscgi";

interface Row {
  id: number;
  name: string;
  email: string;
  note: string;
}

// PG* variables (the harness passes them with --env) say where the database is. A few
// connections per worker: more would only queue on the server's 2 cores.
const pool = new pg.Pool({ max: 4, idleTimeoutMillis: 0 });
pool.on("error", (error) => console.error(`pg-rows: idle connection lost: ${error.message}`));

export function dispose() {
  return pool.end();
}

export default async function () {
  // A named statement is prepared once per kept connection, then only bound and executed.
  const { rows } = await pool.query<Row>({
    name: "bench-rows",
    text: "SELECT id, name, email, note FROM bench_rows ORDER BY id LIMIT $1",
    values: [20],
  });
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
