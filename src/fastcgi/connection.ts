// Connection: one transport connection's protocol state: request ids, multiplexing, management records, flow control.

import {
  FCGI_KEEP_CONN,
  FCGI_MAX_CONNS,
  FCGI_MAX_REQS,
  FCGI_MPXS_CONNS,
  FCGI_NULL_REQUEST_ID,
  FAILED_APP_STATUS,
  ProtocolStatus,
  RecordType,
  Role,
} from "./constants.ts";
import { BadBeginRequestError, ConnectionClosedError, DuplicateRequestError, FcgiProtocolError, RequestAbortedError } from "./errors.ts";
import { ConnectionState } from "./connection-state.ts";
import { FCGI_LIMIT_DEFAULTS } from "./limits.ts";
import { ParamsDecoder, type ParamsLimits } from "./params.ts";
import { RecordReader } from "./reader.ts";
import { Request, type FcgiRequest } from "./request.ts";
import type { ConnectionOptions, Transport } from "./transport.ts";
import { encodeGetValuesResult, encodeUnknownType } from "./writer.ts";
import { stackOf } from "../errors.ts";

/** What one connection tells its owner as it goes, for timeouts and shutdown. */
export interface ConnectionEvents {
  /** A request began while no other was waiting for its PARAMS: the PARAMS clock starts. */
  paramsPending?: () => void;
  /** The connection's last active request ended (or a BEGIN_REQUEST was refused with none active). */
  idle?: () => void;
  /**
   * A request's STDIN is read: reads may go into the options' readPool from now on (see
   * RequestConnection.stdinRead). Asked at each read until it returns true.
   */
  stdinRead?: () => boolean;
}

export type RequestHandler = (request: FcgiRequest) => void;

/** Frozen: spread it to override (`{ ...defaultConnectionOptions, maxRequests: 10 }`). */
export const defaultConnectionOptions: ConnectionOptions = Object.freeze({
  maxParamsBytes: FCGI_LIMIT_DEFAULTS.maxParamsBytes,
  maxPendingParamsBytes: FCGI_LIMIT_DEFAULTS.maxPendingParamsBytes,
  maxParamsPairs: FCGI_LIMIT_DEFAULTS.maxParamsPairs,
  maxRequests: FCGI_LIMIT_DEFAULTS.maxRequests,
  stdinHighWaterMark: FCGI_LIMIT_DEFAULTS.stdinHighWaterMark,
  getValues: Object.freeze({ maxConns: FCGI_LIMIT_DEFAULTS.maxConnections, maxReqs: FCGI_LIMIT_DEFAULTS.maxRequests, mpxsConns: true }),
});

/** A GET_VALUES body is one record, so it is bounded by the record size; the pair cap is generous. */
const GET_VALUES_LIMITS: ParamsLimits = { maxBytes: 0xffff, maxPairs: 0xffff };

/**
 * The server side of one FastCGI transport connection (section 3.2 onwards): feeds socket bytes
 * through the record reader, keeps the table of active request ids, answers management
 * records, and hands each complete Responder request to the handler.
 */
export class Connection {
  #state: ConnectionState;
  #handler: RequestHandler;
  #reader: RecordReader;
  #events: ConnectionEvents;
  #closed = false;
  #begun = 0;
  #onQuiet: (() => void) | null = null;
  /** Reading was held because bytes pile up unparsed while the connection waits to be detached. */
  #heldFull = false;

  constructor(transport: Transport, handler: RequestHandler, options: ConnectionOptions, events: ConnectionEvents = {}) {
    this.#events = events;
    this.#state = new ConnectionState(transport, options, events.paramsPending, () => this.#idle());
    this.#state.onStdinRead = events.stdinRead;
    this.#handler = handler;
    this.#reader = new RecordReader((type, requestId, content) => this.#record(type, requestId, content));
  }

  get activeRequests(): number {
    return this.#state.requests.size;
  }

  /** BEGIN_REQUEST records handled so far, served or refused. */
  get requestsBegun(): number {
    return this.#begun;
  }

  /** True while some request has begun but its PARAMS are not complete. */
  get paramsPending(): boolean {
    return this.#state.paramsPending > 0;
  }

  /** No request is active and no part of a record is held: the stream may change hands here. */
  get quiet(): boolean {
    return !this.#state.dead && this.#state.requests.size === 0 && this.#reader.atBoundary;
  }

  receive(chunk: Buffer): void {
    const state = this.#state;
    if (state.dead) return;
    // Replies produced while this chunk is parsed (GET_VALUES, refusals, handlers that answer
    // synchronously) leave in one write.
    state.transport.cork();
    state.receiving = true;
    try {
      this.#reader.push(chunk);
    } catch (error) {
      this.#fault(error);
    }
    state.receiving = false;
    state.transport.uncork();
    state.chunkParsed();
    state.holdForOutput();
    const reader = this.#reader;
    if (reader.held && !this.#heldFull && reader.heldBytes > state.stdinHighWaterMark) {
      // Kept bytes wait for detach(); past this much, the rest waits in the socket instead.
      this.#heldFull = true;
      state.hold();
    }
    this.#checkQuiet();
  }

  /**
   * Winds the connection down: from now on the reader stops at the first record boundary where
   * no request is active, keeping what follows unparsed, and `onQuiet` is called whenever the
   * connection is quiet (see `quiet`). Requests already begun run to their end.
   */
  quiesce(onQuiet: () => void): void {
    if (this.#state.dead) return;
    this.#onQuiet = onQuiet;
    this.#reader.holdAtBoundary(() => this.#state.requests.size === 0);
    this.#checkQuiet();
  }

  /**
   * When quiet, stops this connection without touching the transport and returns the bytes it
   * received but did not parse (the start of the next owner's stream); null when not quiet.
   */
  detach(): Buffer | null {
    if (!this.quiet) return null;
    const rest = this.#reader.takeHeld();
    this.#closed = true;
    this.#onQuiet = null;
    this.#state.shutdown();
    return rest;
  }

  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onQuiet = null;
    this.#reader.stop();
    const state = this.#state;
    state.shutdown();
    const requests = [...state.requests.values()];
    state.requests.clear();
    for (const request of requests) request.abort(new ConnectionClosedError(request.id), false);
  }

  #idle(): void {
    this.#events.idle?.();
    this.#checkQuiet();
  }

  #checkQuiet(): void {
    if (this.#onQuiet !== null && !this.#state.receiving && this.quiet) this.#onQuiet();
  }

  #record(type: number, requestId: number, content: Buffer): void {
    const state = this.#state;
    if (state.dead) {
      this.#reader.stop();
      return;
    }
    if (state.closeDue) {
      // Closing once this chunk is parsed: only the end of a finished request's input still counts.
      if (type === RecordType.Stdin && content.length === 0) state.inputEnded(requestId);
      return;
    }
    if (requestId === FCGI_NULL_REQUEST_ID) {
      this.#management(type, content);
      return;
    }
    switch (type) {
      case RecordType.BeginRequest:
        this.#begin(requestId, content);
        return;
      case RecordType.Params: {
        const request = state.requests.get(requestId);
        if (request !== undefined && request.pushParams(content)) this.#run(request);
        return;
      }
      case RecordType.Stdin: {
        const request = state.requests.get(requestId);
        if (request !== undefined) request.pushStdin(content);
        else if (content.length === 0) state.inputEnded(requestId);
        return;
      }
      case RecordType.AbortRequest:
        state.requests.get(requestId)?.abort(new RequestAbortedError(requestId), true);
        return;
      default:
        // Section 3.3: "While a request ID R is inactive, the application ignores records with
        // requestId == R"; for active ids, DATA belongs to the Filter role we do not play and the
        // other types are ones only the application sends, so they are ignored as well.
        return;
    }
  }

  #begin(requestId: number, content: Buffer): void {
    const state = this.#state;
    if (content.length !== 8) throw new BadBeginRequestError(requestId, content.length);
    if (state.requests.has(requestId)) throw new DuplicateRequestError(requestId);
    this.#begun++;
    const role = (content[0] << 8) | content[1];
    const keepConn = (content[2] & FCGI_KEEP_CONN) !== 0;
    if (role !== Role.Responder && role !== Role.Authorizer) {
      state.refuse(requestId, ProtocolStatus.UnknownRole, keepConn);
    } else if (!state.options.getValues.mpxsConns && state.requests.size > 0) {
      state.refuse(requestId, ProtocolStatus.CantMpxConn, keepConn);
    } else if (state.requests.size >= state.options.maxRequests) {
      state.refuse(requestId, ProtocolStatus.Overloaded, keepConn);
    } else {
      state.requests.set(requestId, new Request(state, requestId, role, keepConn));
      state.paramsBegun();
    }
  }

  #run(request: Request): void {
    try {
      this.#handler(request);
    } catch (error) {
      this.#state.log("error", `fastcgi: the request handler threw for request ${request.id}: ${describe(error)}`);
      request.end(FAILED_APP_STATUS);
    }
  }

  /** Records on the null request id (section 4). */
  #management(type: number, content: Buffer): void {
    if (type !== RecordType.GetValues) {
      // Section 4.2: "When an application receives a management record whose type T it does not
      // understand, the application responds with {FCGI_UNKNOWN_TYPE, 0, {T}}."
      this.#state.sendNow(encodeUnknownType(type));
      return;
    }
    const decoder = new ParamsDecoder(GET_VALUES_LIMITS);
    decoder.push(content);
    const asked = decoder.end("a GET_VALUES record");
    const known = this.#state.options.getValues;
    // Section 4.1: "If the application doesn't understand a variable name that was included in
    // the query, it omits that name from the response."
    const answer: [string, string][] = [];
    for (const name of Object.keys(asked)) {
      if (name === FCGI_MAX_CONNS) answer.push([name, String(known.maxConns)]);
      else if (name === FCGI_MAX_REQS) answer.push([name, String(known.maxReqs)]);
      else if (name === FCGI_MPXS_CONNS) answer.push([name, known.mpxsConns ? "1" : "0"]);
    }
    this.#state.sendNow(encodeGetValuesResult(answer));
  }

  /** A protocol fault: one log line, this connection destroyed, its requests aborted. */
  #fault(error: unknown): void {
    const state = this.#state;
    this.#reader.stop();
    if (error instanceof FcgiProtocolError) {
      state.log(error.level, `fastcgi: ${error.message} [${error.code}]`, error.code);
    } else {
      state.log("error", `fastcgi: internal error while reading records, connection closed: ${describe(error)}`);
    }
    if (!state.transport.destroyed) state.transport.destroy();
    this.closed();
  }
}

function describe(error: unknown): string {
  return stackOf(error).split("\n", 2).join(" ");
}
