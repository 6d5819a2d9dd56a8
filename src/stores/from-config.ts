// The stores a worker builds from its config (the upload spooler and the session store the
// runtime reaches through FormParser and SessionStore), and the limits and rules they take.
import type { Config } from "../config/types.ts";
import type { FormLimits } from "../runtime/form.ts";
import type { SessionRules } from "../runtime/session.ts";
import type { SessionStore } from "../runtime/session-store.ts";
import { FileSessionStore } from "./session-file.ts";
import { MemorySessionStore } from "./session-memory.ts";
import { RedisSessionStore } from "./session-redis.ts";
import { UploadSpooler } from "./uploads.ts";

/** How old a session lock must be to be broken when its holder cannot be asked, if request_timeout is 0 (no limit). */
export const STALE_LOCK_WITHOUT_REQUEST_TIMEOUT_MS = 10 * 60_000;

type StoreConfig = Pick<Config, "session_store" | "session_save_path" | "session_redis_url" | "request_timeout">;

/**
 * A lock older than the longest a request may run belongs to a request that is over: its worker
 * was replaced at request_timeout. Without that limit, a fixed 10 minutes.
 */
export function staleLockMs(config: Pick<Config, "request_timeout">): number {
  return config.request_timeout > 0 ? config.request_timeout : STALE_LOCK_WITHOUT_REQUEST_TIMEOUT_MS;
}

/** The store session_store names; Redis connects on first use, so a worker starts without waiting for it. */
export function createSessionStore(config: StoreConfig): SessionStore {
  switch (config.session_store) {
    case "file":
      return new FileSessionStore({ dir: config.session_save_path, staleLockMs: staleLockMs(config) });
    case "redis":
      return new RedisSessionStore({ url: config.session_redis_url, staleLockMs: staleLockMs(config) });
    case "memory":
      return new MemorySessionStore();
  }
}

export function sessionRules(
  config: Pick<Config, "session_idle_timeout" | "session_max_lifetime" | "session_lock_timeout" | "session_gc_probability">,
): SessionRules {
  return {
    idleTimeout: config.session_idle_timeout,
    maxLifetime: config.session_max_lifetime,
    lockTimeout: config.session_lock_timeout,
    gcProbability: config.session_gc_probability,
  };
}

export function formLimits(
  config: Pick<Config, "upload_max_file_size" | "upload_max_files" | "form_max_fields" | "form_max_field_size" | "max_body_size">,
): FormLimits {
  return {
    maxFileSize: config.upload_max_file_size,
    maxFiles: config.upload_max_files,
    maxFields: config.form_max_fields,
    maxFieldSize: config.form_max_field_size,
    maxBodySize: config.max_body_size,
  };
}

export function createFormParser(config: Pick<Config, "upload_tmp_dir">): UploadSpooler {
  return new UploadSpooler(config.upload_tmp_dir);
}
