// What a script answered, sent: a whole response in one call (synchronous when nothing is pending), a stream piece by piece.
import { SENT, type Exchange } from "../cgi/exchange.ts";
import type { HeaderList } from "../cgi/head.ts";
import { toScriptResponse } from "../cgi/result.ts";
import type { CgiContext } from "../runtime/context.ts";
import { ResponseStreamError } from "./errors.ts";

/** Sends what the script answered; synchronous for a whole response with no session to save first. */
export function sendScriptResponse(ctx: CgiContext, exchange: Exchange, result: unknown, isHead: boolean): number | Promise<number> {
  if (ctx.started) return finishStarted(ctx, exchange, result);
  // Signed cookies and the session's Set-Cookie join the headers; the session is saved first.
  const settling = ctx.beforeHead();
  if (settling !== undefined) return settling.then(() => respondWhole(ctx, exchange, result, isHead));
  return respondWhole(ctx, exchange, result, isHead);
}

/** A streaming script may still return a last piece of text or bytes. */
async function finishStarted(ctx: CgiContext, exchange: Exchange, result: unknown): Promise<number> {
  if (typeof result === "string" || result instanceof Uint8Array) await ctx.write(result);
  exchange.end("ok");
  return ctx.statusCode || 200;
}

function respondWhole(ctx: CgiContext, exchange: Exchange, result: unknown, isHead: boolean): number | Promise<number> {
  const res = toScriptResponse(result, ctx.statusCode, ctx.headerList);
  const body = res.body;
  if (body === null || body instanceof Uint8Array) {
    const sent = exchange.respond(res.status, res.headers, isHead ? null : body, "ok");
    return sent === SENT ? res.status : sent.then(() => res.status);
  }
  return respondStream(ctx, exchange, res.status, res.headers, body, isHead);
}

async function respondStream(
  ctx: CgiContext,
  exchange: Exchange,
  status: number,
  headers: HeaderList,
  body: ReadableStream<Uint8Array>,
  isHead: boolean,
): Promise<number> {
  if (isHead) {
    await body.cancel();
    await exchange.respond(status, headers, null, "ok");
    return status;
  }
  await exchange.head(status, headers, null);
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (exchange.aborted || ctx.closed) {
        await reader.cancel();
        return status;
      }
      await exchange.write(value);
    }
  } catch (error) {
    exchange.end("failed");
    throw new ResponseStreamError(error);
  }
  exchange.end("ok");
  return status;
}
