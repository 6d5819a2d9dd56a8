// A real PostgreSQL (Debian's package) in a temp directory, on a free loopback port, stopped by its pid.
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { onTestExit, scaled } from "./time.ts";

/** The directory holding initdb, postgres and pg_isready: Debian's newest version, else PATH's. */
function findBinDir(): string | null {
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(debian, v, "bin", "postgres"))) return join(debian, v, "bin");
  }
  for (const dir of ["/usr/local/bin", "/usr/bin"]) {
    if (["initdb", "postgres", "pg_isready"].every((b) => existsSync(join(dir, b)))) return dir;
  }
  return null;
}

const postgresBinDir = findBinDir();

/** Why PostgreSQL tests are skipped on this machine, or false when it is here. In CI it must be here. */
export function postgresMissing(): string | false {
  if (postgresBinDir) return false;
  if (process.env.CI) throw new Error("PostgreSQL is required in CI (.ci/run installs it)");
  return "PostgreSQL is not installed (apt-get install postgresql): skipping the PostgreSQL tests";
}

// PostgreSQL refuses to run as root: as root, the server runs as this user (uid and gid).
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  for (const name of ["postgres", "nobody"]) {
    const id = spawnSync("id", [name], { encoding: "utf8" });
    const uid = /uid=(\d+)/.exec(id.stdout)?.[1];
    const gid = /gid=(\d+)/.exec(id.stdout)?.[1];
    if (id.status === 0 && uid && gid) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as");
}

const running = new Set<() => void>();
onTestExit(() => {
  for (const kill of running) kill();
});

export interface Postgres {
  port: number;
  /** The superuser, also the owner of `database`. */
  user: string;
  database: string;
  /** postgres://user@127.0.0.1:port/database */
  url: string;
  /** PGHOST, PGPORT, PGUSER, PGDATABASE for a client (libpq, `pg`) of this server. */
  env: Record<string, string>;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/**
 * initdb into a temp directory, start postgres on 127.0.0.1 (durability off: a test server),
 * and resolve once it says it accepts connections and pg_isready agrees.
 */
export async function startPostgres(options: { database?: string } = {}): Promise<Postgres> {
  const binDir = postgresBinDir;
  if (!binDir) throw new Error("PostgreSQL missing");
  const bin = (name: string) => join(binDir, name);
  const user = "tscgi";
  const database = options.database ?? "tscgi";
  const dir = mkdtempSync(join(tmpdir(), "tscgi-postgres-"));
  const runAs = serverUser();
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const ids = runAs ?? {};
  const data = join(dir, "data");
  const init = spawnSync(bin("initdb"), ["-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], {
    ...ids,
    cwd: dir,
    encoding: "utf8",
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}):\n${init.stdout}${init.stderr}`);
  }
  const port = await freePort();
  const args = ["-D", data, "-p", String(port), "-h", "127.0.0.1", "-k", dir, "-c", "fsync=off", "-c", "synchronous_commit=off"];
  args.push("-c", "full_page_writes=off", "-c", "max_connections=200");
  const child = spawn(bin("postgres"), args, { ...ids, cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${bin("postgres")}`);
  const kill = () => child.kill("SIGKILL");
  running.add(kill);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      running.delete(kill);
      resolve();
    }),
  );
  let log = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`postgres did not start within ${scaled(60_000)} ms:\n${log}`)), scaled(60_000));
    child.stderr.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`postgres exited at start:\n${log}`));
    });
  });
  const env = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: user, PGDATABASE: "postgres" };
  try {
    await ready;
    const isReady = spawnSync(bin("pg_isready"), ["-h", "127.0.0.1", "-p", String(port), "-t", String(Math.ceil(scaled(30_000) / 1000))], {
      encoding: "utf8",
    });
    if (isReady.status !== 0) throw new Error(`pg_isready: ${isReady.stdout}${isReady.stderr}\n${log}`);
    if (database !== "postgres") {
      const created = spawnSync(bin("createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", user, database], { encoding: "utf8" });
      if (created.status !== 0) throw new Error(`createdb ${database}: ${created.stderr}`);
    }
  } catch (error) {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    user,
    database,
    url: `postgres://${user}@127.0.0.1:${port}/${database}`,
    env: { ...env, PGDATABASE: database },
    pid,
    log: () => log,
    async stop() {
      // SIGINT is PostgreSQL's fast shutdown: clients are disconnected rather than waited for.
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), scaled(10_000));
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
