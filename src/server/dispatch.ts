// Dispatch: (params, body) -> script -> response, the same for FastCGI, the HTTP front and CGI.
import { buildEnv, type ScriptLocation } from "../cgi/env.ts";
import type { Exchange } from "../cgi/exchange.ts";
import { toScriptResponse } from "../cgi/result.ts";
import { BodyTooLargeError } from "../cgi/errors.ts";
import { isFetchHandler, scriptHandler } from "./script-handler.ts";
import { sendScriptResponse } from "./script-response.ts";
import { CgiContext } from "../runtime/context.ts";
import type { Toolkit } from "../runtime/toolkit.ts";
import type { ErrorPageHandler, ErrorPageInfo } from "../runtime/types.ts";
import type { AccessLog } from "./access-log.ts";
import type { InflightTable } from "./inflight-table.ts";
import { ScriptExitError } from "./errors.ts";
import { RequestTimeouts } from "./request-timeouts.ts";
import { answerError, ErrorPages, logFailure } from "./error-pages.ts";
import type { Logger } from "./log.ts";
import { describeError } from "./script-error.ts";
import { authorizerHandler } from "./authorizer.ts";
import { ScriptFaults } from "./script-faults.ts";
import { InFlight, type RunEnder } from "./in-flight.ts";
import { ScriptNames } from "./script-names.ts";
import { requestPath } from "./request-path.ts";

export interface Resolver {
  resolve(path: string, rawPath?: string): ScriptLocation;
}

export interface Loader {
  load(file: string): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface DispatcherOptions {
  root: string;
  resolver: Resolver;
  loader: Loader;
  maxBodySize: number;
  /** Milliseconds; 0 turns the timeout off. */
  requestTimeout: number;
  /**
   * Milliseconds a script may go on after its request timed out (its signal fired) before it
   * counts as runaway and `retire` is asked for; 0 = never.
   */
  timeoutGrace?: number;
  /** Asks for this process to be replaced once its requests finish (a pool worker); absent in one process. */
  retire?: (reason: string) => void;
  /** Where scripts' faults are traced, answered and counted; one of its own by default. */
  faults?: ScriptFaults;
  log: Logger;
  accessLog: AccessLog | null;
  /** Most requests run at once; one more is answered 503 with Retry-After. 0 = no limit. */
  maxInflight?: number;
  /** Seconds a 503 for overload asks the client to wait. */
  retryAfter?: number;
  /** Paths answered by the server itself (status, ping) before any script is looked up. */
  builtins?: (path: string) => BuiltinHandler | null;
  /** Where running requests are published for a watchdog thread (the scripts they run). */
  table?: InflightTable | null;
  /** Forms, signed cookies and sessions for `cgi`; without it they are not available. */
  toolkit?: Toolkit;
  /** display_errors: a script's 500 shows the development page (error, source, stack, request). */
  displayErrors?: boolean;
  /** Script extensions, for the custom error pages `_404.ts` and `_500.ts` in the root; none without. */
  extensions?: readonly string[];
}

/** Answers one request without a script; returns the status for the access log. */
export type BuiltinHandler = (exchange: Exchange) => number | Promise<number>;

/** Counters and the last request, for the status page. */
export interface DispatchStats {
  requests: number;
  /** Of `requests`, those a script was found for: not the builtins' (ping, status) nor the 404s. */
  scriptRequests: number;
  rejected: number;
  lastMethod: string;
  lastUri: string;
  lastScript: string;
  /** Milliseconds. */
  lastDuration: number;
  lastContentLength: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** What `await` would wait for: a script may answer with any thenable, not only a Promise. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #inflight = new Set<InFlight>();
  readonly #faults: ScriptFaults;
  readonly #timeouts: RequestTimeouts;
  readonly #pages: ErrorPages;
  readonly #ender: RunEnder = {
    exit: (entry, code) => this.#exitRequest(entry, code),
    fail: (entry, error) => this.#faultRequest(entry, error),
  };
  readonly #scriptNames: ScriptNames;
  #idleWaiters: Array<() => void> = [];
  readonly stats: DispatchStats = {
    requests: 0,
    scriptRequests: 0,
    rejected: 0,
    lastMethod: "-",
    lastUri: "-",
    lastScript: "-",
    lastDuration: 0,
    lastContentLength: 0,
  };

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#scriptNames = new ScriptNames(options.root);
    this.#faults = options.faults ?? new ScriptFaults({ root: options.root, log: options.log });
    this.#timeouts = new RequestTimeouts(this.#inflight, {
      timeout: options.requestTimeout,
      grace: options.timeoutGrace ?? 0,
      faults: this.#faults,
      retire: options.retire,
      expire: (entry, error) => {
        const status = this.#fail(entry, error, entry.script);
        this.#closeLate(entry.ctx);
        this.#done(entry, status, entry.script);
      },
    });
    this.#pages = new ErrorPages({
      root: options.root,
      extensions: options.extensions ?? [],
      displayErrors: options.displayErrors ?? false,
      toolkit: options.toolkit,
      maxBodySize: options.maxBodySize,
      log: options.log,
    });
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  /** Resolves once no request is in flight (for a graceful stop). */
  idle(): Promise<void> {
    if (this.#inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): void {
    this.#timeouts.stop();
  }

  /** Requests currently running (for the status page's per-process view). */
  get running(): Iterable<{ readonly exchange: Exchange; readonly start: number }> {
    return this.#inflight;
  }

  /**
   * Runs one request to its end; never rejects. `script` skips resolution (the `tscgi cgi FILE`
   * case). A request answered synchronously (a loaded script that returns its response) is
   * finished here, without the promise and the microtask turn an async function costs each call.
   */
  dispatch(exchange: Exchange, script?: ScriptLocation): Promise<void> {
    const max = this.#options.maxInflight ?? 0;
    if (max > 0 && this.#inflight.size >= max) {
      this.#reject(exchange);
      return RESOLVED;
    }
    const entry = new InFlight(exchange, performance.now(), this.#faults, this.#ender);
    this.#inflight.add(entry);
    this.#timeouts.started();
    let ran: number | Promise<number>;
    try {
      ran = this.#start(entry, script);
    } catch (error) {
      return this.#failed(entry, error);
    }
    if (typeof ran !== "number") return this.#settle(entry, ran);
    return this.#finish(entry, ran) ?? RESOLVED;
  }

  /** Up to the script's run: a builtin's, or the script's status, or a promise of it. Throws what fails before. */
  #start(entry: InFlight, script: ScriptLocation | undefined): number | Promise<number> {
    const exchange = entry.exchange;
    const params = exchange.params;
    // An authorizer's 200 would let the request through: status and ping answer responders only.
    if (script === undefined && this.#options.builtins && !exchange.authorizer) {
      const builtin = this.#options.builtins(requestPath(params).path);
      if (builtin) return builtin(exchange);
    }
    const location = script ?? this.#resolve(params);
    entry.script = this.#scriptNames.of(location.file);
    if (exchange.slot !== undefined && exchange.slot >= 0) this.#options.table?.script(exchange.slot, entry.script);
    const length = params.CONTENT_LENGTH;
    if (length && this.#options.maxBodySize > 0 && Number(length) > this.#options.maxBodySize) {
      throw new BodyTooLargeError(this.#options.maxBodySize);
    }
    // The script's own code (evaluation, handler, a Response body's pulls) runs in its request's
    // context: whatever it starts carries it, so its faults are traced back to it.
    return this.#faults.run(entry, () => this.#run(entry, location));
  }

  /** The request after its run went asynchronous. */
  async #settle(entry: InFlight, ran: Promise<number>): Promise<void> {
    let status: number;
    try {
      status = await ran;
    } catch (error) {
      return this.#failed(entry, error);
    }
    await this.#finish(entry, status);
  }

  /** The request failed: answered with an error page unless it was answered already (timeout, process.exit, a fault). */
  async #failed(entry: InFlight, error: unknown): Promise<void> {
    let status = 500;
    try {
      if (entry.endedBy === null) status = await this.#failWithPage(entry, error);
    } finally {
      await this.#finish(entry, status);
    }
  }

  /** The request was answered with `status`: its context is closed and it is recorded; a promise while the close takes time. */
  #finish(entry: InFlight, status: number): Promise<void> | undefined {
    if (entry.endedBy === null) {
      // Answered: no timeout may answer it again while its session is released and uploads removed.
      entry.done = true;
      const closing = entry.ctx?.close();
      if (closing !== undefined) return closing.then(() => this.#done(entry, status, entry.script));
      this.#done(entry, status, entry.script);
    } else if (entry.endedBy === "timeout") {
      this.#timeouts.finishedLate(entry);
    }
    return undefined;
  }

  /**
   * Loads and calls the script, and sends what it answers; the status for the access log. A loaded
   * script that answers synchronously is answered without a promise or a microtask turn: each
   * promise also runs the async-context hook, and together they were a tenth of a hello's CPU.
   */
  #run(entry: InFlight, location: ScriptLocation): number | Promise<number> {
    const loaded = this.#options.loader.load(location.file);
    if (loaded instanceof Promise) return loaded.then((mod) => this.#call(entry, location, mod));
    return this.#call(entry, location, loaded);
  }

  #call(entry: InFlight, location: ScriptLocation, mod: Record<string, unknown>): number | Promise<number> {
    if (entry.endedBy !== null) return 500;
    const exchange = entry.exchange;
    const handler = exchange.authorizer ? authorizerHandler(mod, entry.script) : scriptHandler(mod, entry.script);
    const env = buildEnv(exchange.params, location);
    const ctx = new CgiContext(exchange, env, this.#options.maxBodySize, this.#options.toolkit);
    if (location.params !== undefined) ctx.params = location.params;
    entry.ctx = ctx;
    const result: unknown = isFetchHandler(handler) ? handler.fetch(ctx.request, ctx.env, ctx) : handler(ctx);
    if (isThenable(result)) return Promise.resolve(result).then((value) => this.#answer(entry, ctx, value));
    return this.#answer(entry, ctx, result);
  }

  #answer(entry: InFlight, ctx: CgiContext, result: unknown): number | Promise<number> {
    if (entry.endedBy !== null || ctx.closed) return 500;
    return sendScriptResponse(ctx, entry.exchange, result, entry.exchange.params.REQUEST_METHOD === "HEAD");
  }

  /** Runs a custom error page (`_404.ts`, `_500.ts`) in `ctx` for a request that failed; the status sent. */
  #runPage(entry: InFlight, file: string, ctx: CgiContext, info: ErrorPageInfo): Promise<number> {
    return this.#faults.run(entry, async () => {
      const loaded = this.#options.loader.load(file);
      const handler: ErrorPageHandler = scriptHandler(loaded instanceof Promise ? await loaded : loaded, this.#scriptNames.of(file));
      // A fetch-style page gets the same ErrorPageInfo after its usual arguments.
      const result = typeof handler === "object" ? await handler.fetch(ctx.request, ctx.env, ctx, info) : await handler(ctx, info);
      if (entry.endedBy !== null || ctx.closed) return 500;
      return sendScriptResponse(ctx, entry.exchange, result, ctx.env.REQUEST_METHOD === "HEAD");
    });
  }

  #resolve(params: Record<string, string>): ScriptLocation {
    const { path, raw } = requestPath(params);
    return this.#options.resolver.resolve(path, raw);
  }

  /** Logs an error and answers it: a short page when nothing was sent yet, otherwise a cut-off response. */
  #fail(entry: InFlight, error: unknown, scriptFile: string): number {
    return answerError(entry.exchange, entry.ctx, error, this.#logFailure(entry, error, scriptFile));
  }

  /** #fail, with the answers a script's own throw may get: HttpError's, a custom page, the development page. */
  async #failWithPage(entry: InFlight, error: unknown): Promise<number> {
    const requestId = this.#logFailure(entry, error, entry.script);
    const failed = { exchange: entry.exchange, ctx: entry.ctx, requestId, runPage: this.#runPage.bind(this, entry) };
    return (await this.#pages.answer(failed, error)) ?? answerError(entry.exchange, entry.ctx, error, requestId);
  }

  #logFailure(entry: InFlight, error: unknown, scriptFile: string): string | null {
    return logFailure(entry.exchange, error, scriptFile, this.#options.log, this.#options.root);
  }

  /** Over max_inflight: 503 with Retry-After, and for FastCGI FCGI_OVERLOADED, before any work is done. */
  #reject(exchange: Exchange): void {
    this.stats.rejected++;
    const body = Buffer.from("503 Service Unavailable: the server is busy, retry shortly\n");
    const headers = [
      "Content-Type",
      "text/plain; charset=utf-8",
      "Content-Length",
      String(body.byteLength),
      "Retry-After",
      String(this.#options.retryAfter ?? 1),
    ];
    const start = performance.now();
    const isHead = exchange.params.REQUEST_METHOD === "HEAD";
    void exchange.respond(503, headers, isHead ? null : body, "overloaded").catch(() => {});
    if (exchange.slot !== undefined && exchange.slot >= 0) this.#options.table?.end(exchange.slot);
    this.#record(exchange, start, 503, "-");
  }

  /** process.exit() in a script: its response ends as it stands, like PHP's exit. */
  #exitRequest(entry: InFlight, code: number): { status: number; sent: boolean } {
    entry.endedBy = "exit";
    const ctx = entry.ctx;
    const exchange = entry.exchange;
    let status: number;
    let sent = true;
    if (exchange.aborted) {
      status = 499;
    } else if (ctx?.started) {
      exchange.end("ok");
      status = ctx.statusCode || 200;
    } else if (ctx && (ctx.statusCode !== 0 || ctx.headerList.length > 0)) {
      // PHP's header("Location: ..."); exit; : what was set goes out, as if the script had returned.
      const res = toScriptResponse(undefined, ctx.statusCode, ctx.headerList);
      void exchange.respond(res.status, res.headers, null, "ok").catch(() => {});
      status = res.status;
    } else {
      sent = false;
      status = answerError(exchange, ctx, new ScriptExitError(code));
    }
    ctx?.abort(new ScriptExitError(code));
    this.#closeLate(ctx);
    this.#done(entry, status, entry.script);
    return { status, sent };
  }

  /** An uncaught exception or unhandled rejection of a script whose request is still open. */
  #faultRequest(entry: InFlight, error: unknown): number {
    entry.endedBy = "fault";
    entry.ctx?.abort(error);
    const status = answerError(entry.exchange, entry.ctx, error);
    this.#closeLate(entry.ctx);
    this.#done(entry, status, entry.script);
    return status;
  }

  /** Closes the context of a request answered by a timeout, an exit or a fault; nothing awaits it, so a failed release is logged. */
  #closeLate(ctx: CgiContext | null | undefined): void {
    void ctx
      ?.close()
      ?.catch((error: unknown) =>
        this.#options.log.warn(`releasing a request's session or uploads failed: ${describeError(error, this.#options.root)}`),
      );
  }

  #done(entry: InFlight, status: number, script: string): void {
    entry.done = true;
    if (!this.#inflight.delete(entry)) return;
    const slot = entry.exchange.slot;
    if (slot !== undefined && slot >= 0) this.#options.table?.end(slot);
    this.#record(entry.exchange, entry.start, status, script);
    // The sweep stops itself at its next run when idle: stopping it here re-armed an interval per request.
    if (this.#inflight.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #record(exchange: Exchange, start: number, status: number, script: string): void {
    const stats = this.stats;
    const p = exchange.params;
    const duration = performance.now() - start;
    stats.requests++;
    if (script !== "-") stats.scriptRequests++;
    stats.lastMethod = p.REQUEST_METHOD ?? "-";
    stats.lastUri = p.REQUEST_URI ?? p.DOCUMENT_URI ?? "-";
    stats.lastScript = script;
    stats.lastDuration = duration;
    stats.lastContentLength = Number(p.CONTENT_LENGTH) || 0;
    const access = this.#options.accessLog;
    if (access?.enabled) access.recordExchange(exchange, status, duration, script);
  }
}
