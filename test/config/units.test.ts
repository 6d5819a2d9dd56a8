// Sizes and durations as operators write them.

import t from "tap";
import { ValueRejected } from "../../src/config/errors.ts";
import { MAX_DURATION_MS, parseDuration, parseSize } from "../../src/config/units.ts";

t.test("sizes are bytes, with 1024-based k, m and g in any case", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["1048576", 1048576],
    ["512k", 512 * 1024],
    ["512K", 512 * 1024],
    ["64m", 64 * 1024 ** 2],
    ["64M", 64 * 1024 ** 2],
    ["1g", 1024 ** 3],
    [" 2G ", 2 * 1024 ** 3],
  ];
  for (const [text, bytes] of cases) t.equal(parseSize(text), bytes, text);
});

t.test("a size that is not a whole number with an optional k, m or g is refused", async (t) => {
  for (const text of ["", "12x", "1.5m", "-1", "1 m", "1kb", "m", "0x10", "1e3"]) {
    t.throws(() => parseSize(text), ValueRejected, JSON.stringify(text));
  }
  t.throws(() => parseSize("99999999999g"), { name: "ValueRejected", detail: "that is too large" });
});

t.test("durations are milliseconds; a bare number is seconds", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["30", 30_000],
    ["1.5", 1500],
    ["30s", 30_000],
    ["500ms", 500],
    ["500MS", 500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["0.5s", 500],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
});

t.test("a duration with another unit, a sign or no number is refused", async (t) => {
  for (const text of ["", "s", "10x", "-1s", "1d", "1 s", "1.s", ".5s"]) {
    t.throws(() => parseDuration(text), ValueRejected, JSON.stringify(text));
  }
});

t.test("a duration longer than a Node timer can hold is refused", async (t) => {
  t.equal(parseDuration(`${MAX_DURATION_MS}ms`), MAX_DURATION_MS);
  t.throws(() => parseDuration("25d"), ValueRejected);
  t.throws(() => parseDuration("597h"), /longest is 24d/);
});
