// Name-value pairs (section 3.4): literal bytes both ways, straddling pieces, caps, and fastcgi-stream as a second codec.

import fcgi from "fastcgi-stream";
import t from "tap";
import { MalformedParamsError, ParamsTooLargeError, TooManyParamsError } from "../../src/fastcgi/errors.ts";
import { ParamsDecoder, encodeParams } from "../../src/fastcgi/params.ts";
import { mulberry32 } from "./fixtures/fcgi.ts";

const roomy = { maxBytes: 1 << 24, maxPairs: 100_000 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const ascii = (s: string): string => Buffer.from(s).toString("hex");

function decode(...pieces: Uint8Array[]): Record<string, string> {
  const decoder = new ParamsDecoder(roomy);
  for (const piece of pieces) decoder.push(piece);
  return decoder.end();
}

const long = "x".repeat(128);
const huge = "v".repeat(70_000);

// name, wire bytes, pairs
const table: [string, string, [string, string][]][] = [
  ["one short pair", "0b 03" + ascii("SCRIPT_NAME") + ascii("/hi"), [["SCRIPT_NAME", "/hi"]]],
  ["an empty value", "0c 00" + ascii("QUERY_STRING"), [["QUERY_STRING", ""]]],
  [
    "two pairs back to back",
    "01 01 61 31 01 01 62 32",
    [
      ["a", "1"],
      ["b", "2"],
    ],
  ],
  ["a 127-byte value still uses a one-byte length", "01 7f 76" + "61".repeat(127), [["v", "a".repeat(127)]]],
  ["a 128-byte name uses a four-byte length", "80000080 01" + ascii(long) + "31", [[long, "1"]]],
  ["a 70,000-byte value uses a four-byte length", "04 80011170" + ascii("BIG!") + ascii(huge), [["BIG!", huge]]],
  ["UTF-8 names and values", "02 06 c3a9 e282ac e282ac", [["é", "€€"]]],
  ["an empty name", "00 01 7a", [["", "z"]]],
];

for (const [name, wire, pairs] of table) {
  t.test(`${name}: decoded and re-encoded`, async (t) => {
    const bytes = hex(wire);
    t.same({ ...decode(bytes) }, Object.fromEntries(pairs));
    t.equal(encodeParams(pairs).toString("hex"), bytes.toString("hex"));
  });
}

t.test("a pair straddling pieces is decoded at every split point, length bytes included", async (t) => {
  const bytes = encodeParams([
    ["a", "1"],
    [long, "two"],
    ["HTTP_HOST", "é.example"],
    ["Z", long],
  ]);
  const want = decode(bytes);
  for (let i = 0; i <= bytes.length; i++) {
    for (const j of [i, i + 1, i + 3, i + 130]) {
      const pieces = [bytes.subarray(0, i), bytes.subarray(i, Math.min(j, bytes.length)), bytes.subarray(Math.min(j, bytes.length))];
      if (JSON.stringify(decode(...pieces)) !== JSON.stringify(want)) t.fail(`split at ${i}/${j}`);
    }
  }
  t.pass("every split decodes the same pairs");
  t.same(decode(...[...bytes].map((b) => Uint8Array.of(b))), want, "one byte at a time");
});

t.test("a web server's usual record, all ASCII or with one UTF-8 value, decodes as it does a byte at a time", async (t) => {
  const usual: [string, string][] = [
    ["REQUEST_METHOD", "GET"],
    ["REQUEST_URI", "/hello?name=x%20y"],
    ["SCRIPT_FILENAME", "/srv/cgi-bin/hello.ts"],
    ["QUERY_STRING", "name=x%20y"],
    ["CONTENT_TYPE", ""],
    ["HTTP_HOST", "example.test"],
  ];
  for (const pairs of [usual, [...usual, ["HTTP_X_NAME", "Zoë ☃"]] as [string, string][]]) {
    const bytes = encodeParams(pairs);
    t.ok(bytes.length >= 64, `a ${bytes.length}-byte record`);
    const whole = decode(bytes);
    t.same({ ...whole }, Object.fromEntries(pairs));
    t.same(whole, decode(...[...bytes].map((b) => Uint8Array.of(b))));
  }
});

t.test("the decoded object has a null prototype and the last duplicate wins", async (t) => {
  const params = decode(
    encodeParams([
      ["__proto__", "x"],
      ["constructor", "y"],
      ["A", "1"],
      ["A", "2"],
    ]),
  );
  t.equal(Object.getPrototypeOf(params), null);
  t.equal(params["__proto__"], "x");
  t.equal(params["constructor"], "y");
  t.equal(params["A"], "2");
});

t.test("a stream ending inside a pair is malformed", async (t) => {
  for (const wire of ["05", "05 03 61", "80 00", "80000080 01 61"]) {
    const decoder = new ParamsDecoder(roomy);
    decoder.push(hex(wire));
    t.throws(() => decoder.end(), MalformedParamsError, wire);
  }
});

t.test("more bytes than maxBytes are refused", async (t) => {
  const decoder = new ParamsDecoder({ maxBytes: 10, maxPairs: 100 });
  decoder.push(hex("01 01 61 31"));
  t.throws(() => decoder.push(hex("05 05 6161616161 6262626262")), ParamsTooLargeError);
});

t.test("a declared length past maxBytes is refused before its bytes arrive", async (t) => {
  const decoder = new ParamsDecoder({ maxBytes: 1000, maxPairs: 100 });
  t.throws(() => decoder.push(hex("01 8fffffff")), ParamsTooLargeError);
});

t.test("more pairs than maxPairs are refused", async (t) => {
  const decoder = new ParamsDecoder({ maxBytes: 1000, maxPairs: 2 });
  t.throws(() => decoder.push(hex("01 00 61 01 00 62 01 00 63")), TooManyParamsError);
});

t.test("pairs encoded by fastcgi-stream decode identically, and ours decode in fastcgi-stream", async (t) => {
  const random = mulberry32(0x5eed);
  const text = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(0x20 + Math.floor(random() * 0x5e))).join("");
  for (let round = 0; round < 200; round++) {
    const pairs: [string, string][] = [];
    const count = 1 + Math.floor(random() * 12);
    for (let k = 0; k < count; k++) {
      const size = () => (random() < 0.2 ? 120 + Math.floor(random() * 300) : Math.floor(random() * 20));
      pairs.push([`N${k}_${text(size())}`, text(size())]);
    }
    const theirs = new fcgi.records.Params(pairs);
    const theirBytes = Buffer.alloc(theirs.getSize());
    theirs.write(theirBytes);
    const ours = encodeParams(pairs);
    if (!ours.equals(theirBytes)) t.fail(`round ${round}: encodings differ`);
    if (JSON.stringify({ ...decode(theirBytes) }) !== JSON.stringify(Object.fromEntries(pairs)))
      t.fail(`round ${round}: ours decodes theirs`);
    const back = new fcgi.records.Params();
    back.read(ours);
    const theirDecoding = back.params.map((p) => (typeof p === "string" ? [p, ""] : p));
    if (JSON.stringify(theirDecoding) !== JSON.stringify(pairs)) t.fail(`round ${round}: theirs decodes ours`);
  }
  t.pass("200 random pair lists agree both ways");
});
