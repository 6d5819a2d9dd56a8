#!/usr/bin/env node
// Applies the guestbook's migrations/*.sql in name order, each once, recorded in schema_migrations.
//
//   DATABASE_URL=postgres://user:pass@host/db node examples/guestbook/migrate.js
//   PGHOST=... PGUSER=... PGDATABASE=... npm run guestbook:migrate
//
// Safe to run again (and from two places at once): applied files are skipped, and an advisory
// lock makes a second run wait for the first. Each file runs in its own transaction, so a failing
// one leaves the database as the previous file left it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const MIGRATIONS = fileURLToPath(new URL("./migrations/", import.meta.url));
// Any fixed number: pg_advisory_lock keys are per database, and only this script takes this one.
const LOCK_KEY = 720_513;

async function main() {
  // pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE itself; DATABASE_URL wins when set.
  const client = new pg.Client(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {});
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set((await client.query("SELECT name FROM schema_migrations")).rows.map((row) => row.name));
    const files = readdirSync(MIGRATIONS)
      .filter((name) => name.endsWith(".sql"))
      .sort();
    let applied = 0;
    for (const name of files) {
      if (done.has(name)) continue;
      await client.query("BEGIN");
      try {
        await client.query(readFileSync(join(MIGRATIONS, name), "utf8"));
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [name]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      console.log(`applied ${name}`);
      applied++;
    }
    console.log(applied === 0 ? `up to date (${files.length} migrations)` : `${applied} applied, ${files.length} in all`);
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  console.error(`guestbook migrate: ${error instanceof Error ? error.message : String(error)}`);
  console.error("Set DATABASE_URL, or PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE, to the guestbook's database.");
  process.exitCode = 1;
});
