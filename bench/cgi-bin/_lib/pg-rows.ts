// The benchmark's 20 rows from PostgreSQL, through a pool kept at module scope and shared by the pages that show them.
import pg from "pg";

export interface Row {
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

export async function rows20(): Promise<Row[]> {
  // A named statement is prepared once per kept connection, then only bound and executed.
  const text = "SELECT id, name, email, note FROM bench_rows ORDER BY id LIMIT $1";
  return (await pool.query<Row>({ name: "bench-rows", text, values: [20] })).rows;
}
