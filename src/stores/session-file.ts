// The file session store, PHP's default: one file per session under session_save_path (mode
// 0600), shared by every worker of the host. Requests of one session are serialised with an
// O_EXCL lock file holding its owner's pid and start time; a lock whose owner died, or older than
// the stale limit, is broken. The per-request calls are synchronous, as PHP's are: each is a few
// microseconds on a local file, where a promise sends it through libuv's 4-thread pool and back.
// A session of at most one page is rewritten in place, as PHP's is: replacing a file by rename
// makes ext4 flush it to disk (auto_da_alloc), ten times the cost of the write.
import { randomBytes } from "node:crypto";
import {
  constants,
  fstatSync,
  ftruncateSync,
  futimesSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  closeSync,
  statSync,
  unlinkSync,
  utimesSync,
  watch,
  writeFileSync,
  writeSync,
  type FSWatcher,
} from "node:fs";
import { readdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { SessionStoreError } from "../runtime/errors.ts";
import { isSessionId, type SessionLock, type SessionRecord, type SessionStore } from "../runtime/session-store.ts";
import { pollLock } from "./poll-lock.ts";
import { SessionTurns } from "./session-turns.ts";

/** PHP's file names, so an operator recognises them: sess_<id>. */
const PREFIX = "sess_";
const SESSION_FILE = /^sess_[A-Za-z0-9_-]{43}$/;
const LOCK_FILE = /^sess_[A-Za-z0-9_-]{43}\.lock$/;

/**
 * The largest session file rewritten in place: one page, which a single write() replaces whole
 * even if the process is killed during it. Larger ones are written aside and renamed.
 */
const IN_PLACE_MAX_BYTES = 4096;

/** What a lock file says about its holder. */
interface LockOwner {
  token: string;
  host: string;
  pid: number;
  /** The holder's start time (/proc/PID/stat field 22), so a reused pid is not taken for the owner. */
  start: string | null;
  /** Date.now() when taken. */
  at: number;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null off Linux. */
function processStart(pid: number | "self"): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

const HOST = hostname();
/** Lock tokens: a random prefix per process and a count, unique without a CSPRNG call per request. */
const TOKEN_PREFIX = randomBytes(8).toString("hex");
let tokenCount = 0;
const SELF_START = processStart("self");

/** True when the lock's holder is known to be gone: a process of this host that no longer runs. */
function ownerDead(owner: LockOwner): boolean {
  // Another host (a shared volume) cannot be asked; only the stale limit breaks its locks.
  if (owner.host !== HOST) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists under another user.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
  const start = processStart(owner.pid);
  return owner.start !== null && start !== null && start !== owner.start;
}

/** Resolves when `lockFile` is removed (inotify, through fs.watch), or after `pauseMs` at most. */
export function lockFileRemoved(lockFile: string, pauseMs: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, pauseMs);
    try {
      watcher = watch(lockFile, { persistent: false }, done);
      watcher.on("error", done);
    } catch {
      // Removed since the attempt (ENOENT): try again at once.
      done();
    }
  });
}

export interface FileStoreOptions {
  /** session_save_path: created (mode 0700) when first needed. */
  dir: string;
  /** A lock older than this is broken even if its holder seems alive (request_timeout: by then the holder is gone). */
  staleLockMs: number;
}

export class FileSessionStore implements SessionStore {
  readonly kind = "file";
  readonly dir: string;
  readonly #staleLockMs: number;
  /** Requests of one session in this process queue here, so only one at a time waits on the lock file. */
  readonly #turns = new SessionTurns();
  #made = false;

  constructor(options: FileStoreOptions) {
    this.dir = options.dir;
    this.#staleLockMs = options.staleLockMs;
  }

  #mkdir(): void {
    if (this.#made) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#made = true;
  }

  async lock(id: string, timeoutMs: number): Promise<SessionLock> {
    if (!isSessionId(id)) throw new SessionStoreError(this.kind, "lock a session", new Error("not a session id"));
    const file = join(this.dir, PREFIX + id);
    const lockFile = file + ".lock";
    const owner: LockOwner = { token: TOKEN_PREFIX + (tokenCount++).toString(36), host: HOST, pid: process.pid, start: SELF_START, at: 0 };
    const startedAt = performance.now();
    const leaveTurn = await this.#turns.take(id, timeoutMs);
    try {
      this.#mkdir();
      await pollLock(async () => this.#tryLock(lockFile, owner), timeoutMs, {
        startedAt,
        wait: (pause) => lockFileRemoved(lockFile, pause),
      });
    } catch (error) {
      leaveTurn();
      if ((error as { code?: string }).code === "TSCGI_E_API_SESSION_LOCK_TIMEOUT") throw error;
      throw new SessionStoreError(this.kind, `lock ${lockFile}`, error);
    }
    let record: SessionRecord | null;
    try {
      record = this.#read(file);
    } catch (error) {
      this.#release(lockFile, owner.token);
      leaveTurn();
      throw new SessionStoreError(this.kind, `read ${file}`, error);
    }
    let released = false;
    const fail = (action: string, error: unknown): never => {
      throw new SessionStoreError(this.kind, `${action} ${file}`, error);
    };
    const release = () => {
      if (released) return;
      released = true;
      this.#release(lockFile, owner.token);
      leaveTurn();
    };
    return {
      record,
      save: async (saved, _ttlMs, andRelease) => {
        const text = JSON.stringify({ created: saved.created, data: saved.data });
        try {
          if (!this.#writeInPlace(file, text, saved.touched)) this.#writeAside(file, `${file}.${owner.token}.tmp`, text, saved.touched);
        } catch (error) {
          fail("save", error);
        }
        if (andRelease === true) release();
      },
      touch: async (touched, _ttlMs, andRelease) => {
        // The file's mtime is the session's last use: gc and the idle timeout read it.
        try {
          utimesSync(file, touched / 1000, touched / 1000);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") fail("touch", error);
        }
        if (andRelease === true) release();
      },
      destroy: async () => {
        try {
          unlinkSync(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") fail("remove", error);
        }
      },
      release: async () => release(),
    };
  }

  /**
   * Rewrites the session file in place (false: too large for that). The new text is padded with
   * spaces over the old, so the file is valid JSON at every step; then it is cut to length.
   */
  #writeInPlace(file: string, text: string, touched: number): boolean {
    const bytes = Buffer.from(text);
    if (bytes.length > IN_PLACE_MAX_BYTES) return false;
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const size = fstatSync(fd).size;
      if (size > IN_PLACE_MAX_BYTES) return false;
      const padded = size > bytes.length ? Buffer.concat([bytes, Buffer.alloc(size - bytes.length, " ")]) : bytes;
      writeSync(fd, padded, 0, padded.length, 0);
      if (size > bytes.length) ftruncateSync(fd, bytes.length);
      // The file's mtime is the session's last use: gc and the idle timeout read it.
      futimesSync(fd, touched / 1000, touched / 1000);
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /** Writes aside, then renames: a crash mid-write never leaves half a session. */
  #writeAside(file: string, temp: string, text: string, touched: number): void {
    try {
      writeFileSync(temp, text, { mode: 0o600 });
      renameSync(temp, file);
      utimesSync(file, touched / 1000, touched / 1000);
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {
        // Renamed already, or never written.
      }
      throw error;
    }
  }

  /** Takes the lock, or breaks it when stale and says "try again", or says the lock is held (null). */
  #tryLock(lockFile: string, owner: LockOwner): true | null {
    owner.at = Date.now();
    try {
      writeFileSync(lockFile, JSON.stringify(owner), { flag: "wx", mode: 0o600 });
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The directory was removed under us (a tmp cleaner): make it again and retry.
      if (code === "ENOENT") {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        return null;
      }
      if (code !== "EEXIST") throw error;
    }
    const holder = this.#owner(lockFile);
    // Gone since: try again at once (next round).
    if (holder === null) return null;
    if (!ownerDead(holder) && Date.now() - holder.at <= this.#staleLockMs) return null;
    // Move the stale lock aside (atomic), then check it is the one judged stale: another waiter
    // may have broken it and taken a fresh lock in between, which must then be put back.
    const aside = `${lockFile}.${owner.token}.stale`;
    try {
      renameSync(lockFile, aside);
    } catch {
      return null;
    }
    const moved = this.#owner(aside);
    try {
      if (moved !== null && moved.token !== holder.token) renameSync(aside, lockFile);
      else unlinkSync(aside);
    } catch {
      // Someone else tidied it first.
    }
    return null;
  }

  /** The lock's holder; null when there is no lock file. */
  #owner(lockFile: string): LockOwner | null {
    try {
      return JSON.parse(readFileSync(lockFile, "utf8")) as LockOwner;
    } catch {
      // Empty or damaged (its holder died between creating and writing it, or is writing it
      // now): judge it by its age alone.
      const info = statSync(lockFile, { throwIfNoEntry: false }) ?? null;
      return info === null ? null : { token: "", host: "", pid: 0, start: null, at: info.mtimeMs };
    }
  }

  /** Removes the lock file if it is still ours (a broken-then-retaken lock belongs to someone else). */
  #release(lockFile: string, token: string): void {
    const holder = this.#owner(lockFile);
    if (holder?.token !== token) return;
    try {
      unlinkSync(lockFile);
    } catch {
      // Already gone.
    }
  }

  #read(file: string): SessionRecord | null {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    try {
      const text = readFileSync(fd, "utf8");
      const info = fstatSync(fd);
      const parsed = JSON.parse(text) as { created?: unknown; data?: unknown };
      if (typeof parsed.created !== "number" || typeof parsed.data !== "object" || parsed.data === null) return null;
      return { created: parsed.created, touched: info.mtimeMs, data: parsed.data as SessionRecord["data"] };
    } catch (error) {
      // A file that is not ours or was damaged: the session starts afresh, as PHP's does.
      if (error instanceof SyntaxError) return null;
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  /** PHP's files gc: remove sessions whose mtime is older than the idle timeout, and stale leftovers. */
  async gc(maxIdleMs: number, now: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw new SessionStoreError(this.kind, `list ${this.dir}`, error);
    }
    let removed = 0;
    for (const name of names) {
      const isSession = SESSION_FILE.test(name);
      const isLeftover = LOCK_FILE.test(name) || (name.startsWith(PREFIX) && (name.endsWith(".tmp") || name.endsWith(".stale")));
      if (!isSession && !isLeftover) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (info === null) continue;
      const limit = isSession ? maxIdleMs : Math.max(maxIdleMs, this.#staleLockMs);
      if (now - info.mtimeMs > limit) {
        await unlink(path).catch(() => {});
        if (isSession) removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}
