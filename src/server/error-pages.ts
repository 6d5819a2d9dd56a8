// How a failed request is logged and answered. Before its head went out: an HttpError with its
// headers and body, a custom _404 / _500 script from the root, the development page
// (display_errors), or tscgi's plain page; after, a cut-off response. Every 5xx logged gets a
// request id, on the page and in the log line.
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { Exchange } from "../cgi/exchange.ts";
import { reasonPhrase, type HeaderList } from "../cgi/head.ts";
import { isTscgiError } from "../errors.ts";
import { CgiContext } from "../runtime/context.ts";
import { isHtml } from "../runtime/html.ts";
import type { HttpError } from "../runtime/http-error.ts";
import type { Toolkit } from "../runtime/toolkit.ts";
import type { ErrorPageInfo } from "../runtime/types.ts";
import { developmentPage } from "./dev-error-page.ts";
import type { Logger } from "./log.ts";
import { ResponseStreamError } from "./errors.ts";
import { describeError } from "./script-error.ts";

/** The statuses a custom page can answer: `_404.ts`, `_500.ts`. */
const PAGE_STATUSES: ReadonlySet<number> = new Set([404, 500]);
/** Headers of the failed script that describe its body, which the error answer replaces. */
const BODY_HEADERS: ReadonlySet<string> = new Set(["content-type", "content-length"]);

/** 12 hex digits: enough to find one line among a busy server's errors of a year. */
function newRequestId(): string {
  return randomBytes(6).toString("hex");
}

/** True for an HttpError, whichever copy of its module made it. */
function isHttpError(error: unknown): error is HttpError {
  return isTscgiError(error) && error.code === "TSCGI_E_API_HTTP";
}

/** tscgi's own page: the status line, and for a 5xx the id to quote (the log line has it too). */
function plainPage(message: string, requestId: string | null): Buffer {
  return Buffer.from(`${message}\n${requestId === null ? "" : `request id: ${requestId}\n`}`);
}

/** Logs a failed request; a 5xx gets a request id, in the log line and on the page, returned. */
export function logFailure(exchange: Exchange, error: unknown, scriptFile: string, log: Logger, root: string): string | null {
  const status = isTscgiError(error) ? error.status : 500;
  if (exchange.aborted) {
    // The client left: whatever the script threw afterwards is no fault of its own.
    log.debug(`${where(exchange)}: client gone: ${(error as Error)?.message ?? String(error)}`);
  } else if (status >= 500 || !isTscgiError(error)) {
    const requestId = newRequestId();
    log.error(`${where(exchange)}: ${describeError(error, root)} [script ${scriptFile}] [request id ${requestId}]`);
    return requestId;
  } else {
    log.debug(`${where(exchange)}: ${status} ${(error as Error).message}`);
  }
  return null;
}

/**
 * Answers an error without logging it: tscgi's plain page when nothing was sent yet, otherwise a
 * cut-off response. The status, for the access log.
 */
export function answerError(
  exchange: Exchange,
  ctx: CgiContext | null | undefined,
  error: unknown,
  requestId: string | null = null,
): number {
  const status = isTscgiError(error) ? error.status : 500;
  // A ResponseStreamError's response was ended where the stream failed.
  const streamFailed = error instanceof ResponseStreamError;
  if (ctx?.started === true || streamFailed) {
    if (!streamFailed) exchange.end("failed");
    return ctx?.statusCode || 200;
  }
  if (exchange.aborted) return status;
  // Script-chosen messages (HttpError) are shown; internal details stay in the log.
  const message = isHttpError(error) ? error.message : `${status} ${reasonPhrase(status)}`;
  const body = plainPage(message, requestId);
  const headers = ["Content-Type", "text/plain; charset=utf-8", "Content-Length", String(body.byteLength)];
  void exchange.respond(status, headers, exchange.params.REQUEST_METHOD === "HEAD" ? null : body, "failed").catch(() => {});
  return status;
}

/** A request that failed before its head went out, as dispatch knows it. */
export interface FailedRequest {
  readonly exchange: Exchange;
  /** The failed script's context; null when no script ran (not found, compile error). */
  readonly ctx: CgiContext | null;
  /** Its id when the failure was logged as an error (5xx). */
  readonly requestId: string | null;
  /** Runs a page script in `ctx` and sends what it answers; the status sent. */
  runPage(file: string, ctx: CgiContext, info: ErrorPageInfo): Promise<number>;
}

export interface ErrorPagesOptions {
  root: string;
  /** The extensions scripts may have, in order: `_404.ts` is found as a script is. */
  extensions: readonly string[];
  /** display_errors: a 500 shows the development page instead of `_500.ts` or the plain page. */
  displayErrors: boolean;
  toolkit?: Toolkit;
  maxBodySize: number;
  log: Logger;
}

export class ErrorPages {
  readonly #o: ErrorPagesOptions;

  constructor(options: ErrorPagesOptions) {
    this.#o = options;
  }

  get displayErrors(): boolean {
    return this.#o.displayErrors;
  }

  /** `_404.ts` (or another allowed extension) in the root, if there is one. Looked up on each use: errors are off the hot path. */
  pageFile(status: number): string | null {
    if (!PAGE_STATUSES.has(status)) return null;
    for (const extension of this.#o.extensions) {
      const file = join(this.#o.root, `_${status}${extension}`);
      if (statSync(file, { throwIfNoEntry: false })?.isFile() === true) return file;
    }
    return null;
  }

  /** Answers the failure, or null to leave it to tscgi's plain page. Never rejects. */
  async answer(failed: FailedRequest, error: unknown): Promise<number | null> {
    const { exchange, ctx } = failed;
    if (ctx?.started === true || exchange.aborted) return null;
    const status = isTscgiError(error) ? error.status : 500;
    const http = isHttpError(error);
    let carried: HeaderList = [];
    if (http && ctx !== null) {
      // The script chose this answer: what it set before the throw goes out with it, its session saved.
      try {
        await ctx.beforeHead();
      } catch (settleError) {
        this.#o.log.error(
          `${where(exchange)}: saving the session for HttpError ${status} failed: ${describeError(settleError, this.#o.root)}`,
        );
        return null;
      }
      carried = withoutBodyHeaders(ctx.headerList);
    }
    if (http) for (const [name, value] of error.headers ?? []) carried.push(name, value);
    const isHead = exchange.params.REQUEST_METHOD === "HEAD";

    if (status === 500 && !http && this.#o.displayErrors) {
      const body = developmentPage(error, exchange.params, this.#o.root, status);
      await send(exchange, status, ["Content-Type", "text/html; charset=utf-8", "Content-Length", String(body.byteLength)], body, isHead);
      return status;
    }
    const page = http && error.body !== undefined ? null : this.pageFile(status);
    if (page !== null) {
      const answered = await this.#runPage(failed, page, status, http ? error.message : reasonPhrase(status), carried);
      if (answered !== null) return answered;
    }
    if (!http) return null;
    const body = error.body;
    let bytes: Buffer;
    let type: string;
    if (body === undefined) [bytes, type] = [Buffer.from(error.message + "\n"), "text/plain; charset=utf-8"];
    else if (isHtml(body)) [bytes, type] = [Buffer.from(String(body)), "text/html; charset=utf-8"];
    else [bytes, type] = [Buffer.from(JSON.stringify(body)), "application/json; charset=utf-8"];
    carried.push("Content-Type", type, "Content-Length", String(bytes.byteLength));
    await send(exchange, status, carried, bytes, isHead);
    return status;
  }

  /** Runs `_404.ts` / `_500.ts`; null when it failed before answering (tscgi's page follows). */
  async #runPage(failed: FailedRequest, file: string, status: number, message: string, carried: HeaderList): Promise<number | null> {
    const { exchange } = failed;
    const env = failed.ctx?.env ?? Object.freeze(exchange.params);
    const ctx = new CgiContext(exchange, env, this.#o.maxBodySize, this.#o.toolkit);
    try {
      for (let i = 0; i < carried.length; i += 2) ctx.header(carried[i], carried[i + 1]);
      ctx.status(status);
      return await failed.runPage(file, ctx, { status, message, requestId: failed.requestId });
    } catch (error) {
      this.#o.log.error(
        `${where(exchange)}: the error page ${file} failed, tscgi's own page answers: ${describeError(error, this.#o.root)}`,
      );
      if (!ctx.started) return null;
      // Cut off: the page had begun its answer.
      if ((error as { headersSent?: boolean })?.headersSent !== true) exchange.end("failed");
      return status;
    } finally {
      void ctx.close();
    }
  }
}

function withoutBodyHeaders(headers: HeaderList): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < headers.length; i += 2) if (!BODY_HEADERS.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1]);
  return out;
}

function where(exchange: Exchange): string {
  const p = exchange.params;
  return `${p.REQUEST_METHOD ?? "-"} ${p.REQUEST_URI ?? p.DOCUMENT_URI ?? "-"}`;
}

async function send(exchange: Exchange, status: number, headers: HeaderList, body: Buffer, isHead: boolean): Promise<void> {
  await exchange.respond(status, headers, isHead ? null : body, "failed").catch(() => {});
}
