// The in-flight table is read by another thread: what one view writes, a second view over the
// same shared memory sees, slots are reused, and long text is cut rather than overflowing.
import t from "tap";
import { InflightTable, SlotState, Wire } from "../../src/server/inflight-table.ts";

t.test("a second view sees begin, script, responded and end", async (t) => {
  const table = new InflightTable(4);
  const reader = new InflightTable(4, table.buffer);
  t.same(reader.snapshot(), []);
  const before = Date.now();
  const a = table.begin(11, 7, Wire.FastCgi, "GET", "/hello?x=1");
  const after = Date.now();
  const b = table.begin(12, 0, Wire.Http, "POST", "/form");
  table.script(a, "hello.ts");
  let seen = reader.snapshot();
  t.equal(seen.length, 2);
  t.match(seen[0], {
    fd: 11,
    requestId: 7,
    wire: Wire.FastCgi,
    method: "GET",
    uri: "/hello?x=1",
    script: "hello.ts",
    state: SlotState.Running,
  });
  t.match(seen[1], { fd: 12, wire: Wire.Http, method: "POST", uri: "/form", script: "" });
  t.ok(seen[0].start >= before && seen[0].start <= after, "the start time is when begin() ran");
  table.responded(b);
  t.equal(reader.snapshot()[1].state, SlotState.Responded);
  table.end(a);
  seen = reader.snapshot();
  t.same(
    seen.map((s) => s.uri),
    ["/form"],
  );
  const c = table.begin(13, 9, Wire.FastCgi, "GET", "/again");
  t.equal(c, a, "a freed slot is reused");
  t.not(reader.snapshot().find((s) => s.index === c)!.seq, seen[0].seq, "with a new sequence number");
});

t.test("full table: -1, and -1 is ignored everywhere", async (t) => {
  const table = new InflightTable(1);
  t.equal(table.begin(1, 1, Wire.FastCgi, "GET", "/a"), 0);
  t.equal(table.begin(2, 2, Wire.FastCgi, "GET", "/b"), -1);
  table.script(-1, "x.ts");
  table.responded(-1);
  table.end(-1);
  t.equal(table.snapshot().length, 1);
});

t.test("long URIs and scripts are cut, multi-byte text survives", async (t) => {
  const table = new InflightTable(2);
  const slot = table.begin(3, 1, Wire.FastCgi, "GET", "/" + "é".repeat(400));
  table.script(slot, "s".repeat(1000) + ".ts");
  const view = table.snapshot()[0];
  t.ok(Buffer.byteLength(view.uri) <= 256, `uri cut to ${Buffer.byteLength(view.uri)} bytes`);
  t.ok(view.uri.startsWith("/éé"));
  t.notMatch(view.uri, /\uFFFD/, "never cut inside a character");
  t.ok(view.script.length > 0 && view.script.length <= 512);
});

t.test("ASCII text is cut at the same byte as any other, and a character after it is kept whole", async (t) => {
  const table = new InflightTable(2);
  const ascii = table.begin(3, 1, Wire.FastCgi, "PROPFIND", "/" + "a".repeat(300));
  table.script(ascii, "s".repeat(1000));
  const mixed = table.begin(4, 2, Wire.FastCgi, "GET", "/" + "b".repeat(250) + "€€");
  const [a, m] = table.snapshot();
  t.equal(a.method, "PROPFIND");
  t.equal(a.uri, "/" + "a".repeat(247), "the URI fills what the method left of its 256 bytes");
  t.equal(a.script, "s".repeat(256), "the script name fills the rest of the slot's text");
  t.equal(m.uri, "/" + "b".repeat(250), "a 3-byte character that no longer fits is left out, not cut");
  t.equal(ascii, a.index);
  t.equal(mixed, m.index);
});

t.test("the heartbeat", async (t) => {
  const table = new InflightTable(1);
  table.beat(1234);
  t.equal(new InflightTable(1, table.buffer).heartbeat, 1234);
});
