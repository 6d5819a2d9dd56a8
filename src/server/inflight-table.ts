// Requests in flight, kept in shared memory so that another thread can read them while this
// thread is stuck in a script's synchronous code: the watchdog answers 504 and names the script.

/** Slot states. */
export const SlotState = { Free: 0, Running: 1, Responded: 2 } as const;
/** What the response is framed as, so the watchdog writes the right bytes. */
export const Wire = { FastCgi: 0, Http: 1 } as const;

const TEXT_BYTES = 512;
// Int32 fields per slot, then one Float64 start time, then text.
const I_STATE = 0;
const I_FD = 1;
const I_REQUEST_ID = 2;
const I_WIRE = 3;
const I_SEQ = 4;
const I_SCRIPT_LEN = 5;
const I_METHOD_LEN = 6;
const I_URI_LEN = 7;
const INTS = 8;
const SLOT_BYTES = INTS * 4 + 8 + TEXT_BYTES;
// Header: heartbeat (Float64) and counters (Int32).
const HEADER_BYTES = 16;

export interface SlotView {
  index: number;
  state: number;
  fd: number;
  requestId: number;
  wire: number;
  seq: number;
  /** Milliseconds since the epoch. */
  start: number;
  method: string;
  uri: string;
  script: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class InflightTable {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #ints: Int32Array;
  readonly #floats: Float64Array;
  readonly #bytes: Uint8Array;
  readonly #free: number[] = [];
  #seq = 0;

  /** Creates a table, or views one created by another thread (pass its buffer). */
  constructor(capacity: number, buffer?: SharedArrayBuffer) {
    this.capacity = capacity;
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + capacity * SLOT_BYTES);
    this.#ints = new Int32Array(this.buffer);
    this.#floats = new Float64Array(this.buffer);
    this.#bytes = new Uint8Array(this.buffer);
    if (!buffer) for (let i = capacity - 1; i >= 0; i--) this.#free.push(i);
  }

  static #base(index: number): number {
    return HEADER_BYTES + index * SLOT_BYTES;
  }

  /** The owning thread says it is alive; a stale heartbeat means it is blocked. */
  beat(now = Date.now()): void {
    this.#floats[0] = now;
  }

  get heartbeat(): number {
    return this.#floats[0];
  }

  /** Takes a slot for a new request; -1 when the table is full (the request is then not watched). */
  begin(fd: number, requestId: number, wire: number, method: string, uri: string): number {
    const index = this.#free.pop();
    if (index === undefined) return -1;
    const base = InflightTable.#base(index);
    const i = base >> 2;
    const ints = this.#ints;
    ints[i + I_FD] = fd;
    ints[i + I_REQUEST_ID] = requestId;
    ints[i + I_WIRE] = wire;
    ints[i + I_SEQ] = ++this.#seq;
    this.#floats[(base + INTS * 4) >> 3] = Date.now();
    const text = base + INTS * 4 + 8;
    const m = this.#write(method, text, text + 16);
    const u = this.#write(uri, text + m, text + 256);
    ints[i + I_METHOD_LEN] = m;
    ints[i + I_URI_LEN] = u;
    ints[i + I_SCRIPT_LEN] = 0;
    Atomics.store(ints, i + I_STATE, SlotState.Running);
    return index;
  }

  /** Records the script the request runs, once resolved. */
  script(index: number, name: string): void {
    if (index < 0) return;
    const base = InflightTable.#base(index);
    const i = base >> 2;
    const text = base + INTS * 4 + 8;
    const used = this.#ints[i + I_METHOD_LEN] + this.#ints[i + I_URI_LEN];
    this.#ints[i + I_SCRIPT_LEN] = this.#write(name, text + used, text + TEXT_BYTES);
  }

  /**
   * Writes `text` as UTF-8 from `at`, cut at `limit`; the bytes written. ASCII, what a method, a
   * URI and a script name nearly always are, is copied here: a subarray and a TextEncoder call
   * for each of the three strings were a tenth of a kept-alive hello's JavaScript.
   */
  #write(text: string, at: number, limit: number): number {
    const bytes = this.#bytes;
    const n = Math.min(text.length, limit - at);
    for (let k = 0; k < n; k++) {
      const c = text.charCodeAt(k);
      if (c >= 0x80) return k + encoder.encodeInto(text.slice(k), bytes.subarray(at + k, limit)).written;
      bytes[at + k] = c;
    }
    return n;
  }

  /** Bytes of the response went out: the watchdog must not answer this request itself any more. */
  responded(index: number): void {
    if (index >= 0) Atomics.store(this.#ints, (InflightTable.#base(index) >> 2) + I_STATE, SlotState.Responded);
  }

  end(index: number): void {
    if (index < 0) return;
    Atomics.store(this.#ints, (InflightTable.#base(index) >> 2) + I_STATE, SlotState.Free);
    this.#free.push(index);
  }

  /** Requests in flight, as another thread sees them. */
  snapshot(): SlotView[] {
    const out: SlotView[] = [];
    for (let index = 0; index < this.capacity; index++) {
      const base = InflightTable.#base(index);
      const i = base >> 2;
      const state = Atomics.load(this.#ints, i + I_STATE);
      if (state === SlotState.Free) continue;
      const text = base + INTS * 4 + 8;
      const m = this.#ints[i + I_METHOD_LEN];
      const u = this.#ints[i + I_URI_LEN];
      const s = this.#ints[i + I_SCRIPT_LEN];
      // decode() refuses shared memory: copy the few bytes out first.
      const read = (from: number, length: number) => decoder.decode(this.#bytes.slice(from, from + length));
      out.push({
        index,
        state,
        fd: this.#ints[i + I_FD],
        requestId: this.#ints[i + I_REQUEST_ID],
        wire: this.#ints[i + I_WIRE],
        seq: this.#ints[i + I_SEQ],
        start: this.#floats[(base + INTS * 4) >> 3],
        method: read(text, m),
        uri: read(text + m, u),
        script: read(text + m + u, s),
      });
    }
    return out;
  }
}
