// The guestbook's PostgreSQL pool: opened once per worker at module scope, shared by every request.
import pg from "pg";

/** Connections each worker keeps at most; with N workers the site holds up to N times this. */
const POOL_MAX = 10;

// pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE itself; DATABASE_URL wins when set.
// Both reach scripts only through the `env` key of conf/tscgi.conf.
const pool = new pg.Pool({
  ...(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {}),
  max: POOL_MAX,
  // Idle connections stay open, as PHP's persistent ones do: a request never pays for a connect.
  idleTimeoutMillis: 0,
  application_name: "guestbook",
});

// A connection the server drops while idle (a restart) is discarded and replaced on next use;
// without a listener the error would end the worker.
pool.on("error", (error) => console.error(`guestbook: idle database connection lost: ${error.message}`));

/** Runs one parameterised statement: values travel apart from the SQL text, never inside it. */
export async function query<Row extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
  return pool.query<Row>(sql, values);
}

/**
 * Called by tscgi when an edit replaces this module and when the worker stops.
 * @public
 */
export async function dispose(): Promise<void> {
  await pool.end();
  console.error("guestbook: database pool closed");
}
