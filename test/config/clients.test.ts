// Client lists: IPv4 and IPv6 addresses and ranges in every text form, matched on their bits.

import t from "tap";
import { BlockList, isIP } from "node:net";
import { clientAllowed, parseClientList, type ClientList } from "../../src/config/clients.ts";
import { ValueRejected } from "../../src/config/errors.ts";

function list(raw: string): ClientList {
  const parsed = parseClientList(raw);
  if (parsed === null) throw new Error(`${raw} parsed as any`);
  return parsed;
}

/** Whether `a` and `b` are the same address, as two single-address lists see it. */
const same = (a: string, b: string) => clientAllowed(list(a), b) && clientAllowed(list(b), a);

t.test("any, in any case, is null, and null allows everyone", async (t) => {
  t.equal(parseClientList("any"), null);
  t.equal(parseClientList(" ANY "), null);
  t.equal(parseClientList("Any"), null);
  t.ok(clientAllowed(null, "203.0.113.9"));
  t.ok(clientAllowed(null, "not an address"));
});

t.test("a Unix socket peer (no address) is always allowed", async (t) => {
  t.ok(clientAllowed(list("127.0.0.1"), undefined));
});

t.test("entries are separated by commas and/or whitespace, and kept as written", async (t) => {
  t.same(list("127.0.0.1,::1").entries, ["127.0.0.1", "::1"]);
  t.same(list(" 10.0.0.1 , 10.0.0.2\t10.0.0.3\n,,10.0.0.4 ").entries, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
  t.same(list("2001:DB8::/32").entries, ["2001:DB8::/32"]);
  const clients = list("10.0.0.1 10.0.0.2,10.0.0.3");
  for (const peer of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) t.ok(clientAllowed(clients, peer), peer);
  t.notOk(clientAllowed(clients, "10.0.0.4"));
});

t.test("IPv4 addresses match exactly without a prefix", async (t) => {
  const clients = list("127.0.0.1,192.0.2.255");
  t.ok(clientAllowed(clients, "127.0.0.1"));
  t.ok(clientAllowed(clients, "192.0.2.255"));
  t.notOk(clientAllowed(clients, "127.0.0.2"));
  t.notOk(clientAllowed(clients, "126.0.0.1"));
  t.notOk(clientAllowed(clients, "::1"));
  t.notOk(clientAllowed(clients, "::127.0.0.1"), "IPv4-compatible is not IPv4-mapped");
  t.ok(clientAllowed(list("0.0.0.0"), "0.0.0.0"));
  t.ok(clientAllowed(list("255.255.255.255"), "255.255.255.255"));
});

t.test("IPv4 CIDR ranges: /0, /8, /31, /32, host bits ignored", async (t) => {
  const all = list("0.0.0.0/0");
  for (const peer of ["0.0.0.0", "10.1.2.3", "255.255.255.255", "::ffff:8.8.8.8"]) t.ok(clientAllowed(all, peer), peer);
  t.notOk(clientAllowed(all, "::1"), "an IPv4 /0 is every IPv4 address, not every address");
  t.notOk(clientAllowed(all, "2001:db8::1"));
  const ten = list("10.9.9.9/8");
  t.ok(clientAllowed(ten, "10.0.0.0"));
  t.ok(clientAllowed(ten, "10.255.255.255"));
  t.notOk(clientAllowed(ten, "11.0.0.0"));
  t.notOk(clientAllowed(ten, "9.255.255.255"));
  const pair = list("192.0.2.4/31");
  t.ok(clientAllowed(pair, "192.0.2.4"));
  t.ok(clientAllowed(pair, "192.0.2.5"));
  t.notOk(clientAllowed(pair, "192.0.2.6"));
  t.notOk(clientAllowed(pair, "192.0.2.3"));
  t.ok(clientAllowed(list("192.0.2.7/32"), "192.0.2.7"));
  t.notOk(clientAllowed(list("192.0.2.7/32"), "192.0.2.6"));
  t.ok(clientAllowed(list("128.0.0.0/1"), "200.1.1.1"), "the top bit of an address");
  t.notOk(clientAllowed(list("128.0.0.0/1"), "127.255.255.255"));
});

t.test("an IPv4 entry matches the IPv4-mapped IPv6 peer, and the other way round", async (t) => {
  t.ok(clientAllowed(list("127.0.0.1"), "::ffff:127.0.0.1"));
  t.ok(clientAllowed(list("127.0.0.1"), "::FFFF:7f00:1"));
  t.ok(clientAllowed(list("10.0.0.0/8"), "::ffff:10.20.30.40"));
  t.notOk(clientAllowed(list("10.0.0.0/8"), "::ffff:11.20.30.40"));
  t.ok(clientAllowed(list("::ffff:127.0.0.1"), "127.0.0.1"));
  t.ok(clientAllowed(list("::ffff:7f00:0001"), "127.0.0.1"));
  t.ok(clientAllowed(list("0:0:0:0:0:ffff:127.0.0.1"), "127.0.0.1"));
  t.ok(clientAllowed(list("::ffff:10.0.0.0/104"), "10.1.2.3"), "a mapped /104 is an IPv4 /8");
  t.notOk(clientAllowed(list("::ffff:10.0.0.0/104"), "11.1.2.3"));
  t.ok(clientAllowed(list("::ffff:0:0/96"), "198.51.100.1"), "the whole mapped block is every IPv4 address");
});

t.test("IPv6 in every textual form denotes the same address", async (t) => {
  const forms: [string, string][] = [
    ["2001:db8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:Db8:0::0:1", "2001:db8::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["0000:0000:0000:0000:0000:0000:0000:0001", "::1"],
    ["::0:1", "::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::0", "::"],
    ["0::", "::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["1:2:0:0:0:0:0:0", "1:2::"],
    ["1:0:0:0:0:0:0:8", "1::8"],
    ["1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7::"],
    ["0:2:3:4:5:6:7:8", "::2:3:4:5:6:7:8"],
    ["1:2:3:0:5:6:7:8", "1:2:3::5:6:7:8"],
    ["1:2:3:4:0:0:7:8", "1:2:3:4::7:8"],
    ["fe80:0:0:0:0:0:0:1", "FE80::1"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "FFFF:ffff:FFFF:ffff:FFFF:ffff:FFFF:ffff"],
    ["::ffff:c000:0207", "::ffff:192.0.2.7"],
    ["::c000:207", "::192.0.2.7"],
    ["64:ff9b::c000:207", "64:ff9b::192.0.2.7"],
    ["1:2:3:4:5:6:c000:207", "1:2:3:4:5:6:192.0.2.7"],
    ["1::6:c000:207", "1::6:192.0.2.7"],
  ];
  for (const [a, b] of forms) {
    t.ok(isIP(a) === 6 && isIP(b) === 6, `${a} and ${b} are IPv6 to node too`);
    t.ok(same(a, b), `${a} = ${b}`);
  }
  t.notOk(same("2001:db8::1", "2001:db8::2"));
  t.notOk(same("1::", "::1"));
  t.notOk(same("1:2::", "::1:2"));
  t.notOk(same("::ffff:192.0.2.7", "::192.0.2.7"), "mapped and compatible differ");
});

t.test("IPv6 prefixes: /0, /1, /32, /64, /127, /128", async (t) => {
  const everything = list("::/0");
  for (const peer of ["::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "10.0.0.1"]) {
    t.ok(clientAllowed(everything, peer), peer);
  }
  t.ok(clientAllowed(list("8000::/1"), "ffff::"));
  t.notOk(clientAllowed(list("8000::/1"), "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  const doc = list("2001:db8::/32");
  t.ok(clientAllowed(doc, "2001:db8::"));
  t.ok(clientAllowed(doc, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  t.ok(clientAllowed(doc, "2001:DB8:1234::5"));
  t.notOk(clientAllowed(doc, "2001:db9::"));
  t.notOk(clientAllowed(doc, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
  const lan = list("fd00:1:2:3::/64");
  t.ok(clientAllowed(lan, "fd00:1:2:3:ffff:ffff:ffff:ffff"));
  t.notOk(clientAllowed(lan, "fd00:1:2:4::"));
  t.ok(clientAllowed(list("::2/127"), "::3"));
  t.notOk(clientAllowed(list("::2/127"), "::4"));
  t.ok(clientAllowed(list("::1/128"), "0:0:0:0:0:0:0:1"));
  t.notOk(clientAllowed(list("::1/128"), "::"));
  t.ok(clientAllowed(list("2001:db8::dead:beef/96"), "2001:db8::1:2"), "host bits past the prefix are ignored");
});

t.test("a peer's zone id is ignored", async (t) => {
  t.ok(clientAllowed(list("fe80::1"), "fe80::1%eth0"));
  t.ok(clientAllowed(list("fe80::/10"), "fe80::abcd%2"));
});

t.test("a peer address that is not an address is refused, not thrown on", async (t) => {
  const clients = list("0.0.0.0/0,::/0");
  for (const peer of ["", "localhost", "1.2.3", "::g", "1.2.3.4.5", "%eth0"]) t.notOk(clientAllowed(clients, peer), JSON.stringify(peer));
});

t.test("bad entries are refused, naming the entry", async (t) => {
  const cases: [string, RegExp][] = [
    ["", /the list is empty; write any/],
    [" , ", /the list is empty/],
    ["any,127.0.0.1", /any stands alone/],
    ["127.0.0.1 ANY", /any stands alone/],
    ["localhost", /^"localhost" is not an IPv4 or IPv6 address \(host names are not looked up\)$/],
    ["127.0.0.1,web.internal", /"web\.internal" is not an IPv4 or IPv6 address/],
    ["fe80::1%eth0", /^"fe80::1%eth0" has a zone id/],
    ["[::1]", /^"\[::1\]" is in brackets/],
    ["1.2.3.4/33", /^"1\.2\.3\.4\/33" has a bad prefix length: an IPv4 prefix is \/0 to \/32$/],
    ["::/129", /an IPv6 prefix is \/0 to \/128/],
    ["1.2.3.4/", /bad prefix length/],
    ["::ffff:1.2.3.4/", /an IPv6 prefix is/],
    ["1.2.3.4/-1", /bad prefix length/],
    ["1.2.3.4/08", /bad prefix length/],
    ["1.2.3.4/8/8", /bad prefix length/],
    ["1.2.3.4/a", /bad prefix length/],
    ["::/ 1", /not an IPv4 or IPv6 address|bad prefix/],
  ];
  for (const [raw, detail] of cases) {
    t.throws(() => parseClientList(raw), ValueRejected, JSON.stringify(raw));
    try {
      parseClientList(raw);
    } catch (error) {
      t.match((error as ValueRejected).detail, detail, JSON.stringify(raw));
    }
  }
});

t.test("malformed addresses are refused, as node's isIP refuses them", async (t) => {
  const bad = [
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "1.2.3.256",
    "01.2.3.4",
    "1.2.3.04",
    "1..2.3",
    ".1.2.3",
    "1.2.3.4.",
    "1.2.3.1000",
    "0x7f.0.0.1",
    "1.2.3.-4",
    ":",
    ":::",
    "1:::2",
    ":1",
    "1:",
    "1::2::3",
    "::1::",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1::2:3:4:5:6:7:8",
    "12345::",
    "00000::1",
    "g::1",
    "::ffff:1.2.3",
    "::ffff:1.2.3.4.5",
    "::ffff:01.2.3.4",
    "::1.2.3.4:1",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "- 1",
  ];
  for (const raw of bad) {
    const address = raw.split("/")[0].trim();
    if (!raw.includes(" ")) t.equal(isIP(address), 0, `${raw} is no address to node either`);
    t.throws(() => parseClientList(raw), ValueRejected, raw);
  }
});

/** A fixed-seed generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Eight groups as IPv6 text: full, with leading zeros, upper case, or "::" over a run of zeros. */
function render(groups: number[], style: number): string {
  const hex = groups.map((g) => g.toString(16));
  if (style === 0) return hex.join(":");
  if (style === 1) return groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
  if (style === 2) return hex.join(":").toUpperCase();
  // Compress the longest run of zero groups (any run of one or more).
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best === -1) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

t.test("random IPv6 ranges match as node's BlockList says", async (t) => {
  const next = random(4);
  const group = () => (next() < 0.4 ? 0 : Math.floor(next() * 0x10000));
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const network = Array.from({ length: 8 }, group);
    // Peers near the network: the same groups with a few changed, so prefixes cut both ways.
    const peer = network.map((g) => (next() < 0.15 ? group() : g));
    const prefix = Math.floor(next() * 129);
    const entry = `${render(network, Math.floor(next() * 4))}/${prefix}`;
    const peerText = render(peer, Math.floor(next() * 4));
    const oracle = new BlockList();
    oracle.addSubnet(render(network, 0), prefix, "ipv6");
    if (clientAllowed(list(entry), peerText) !== oracle.check(peerText, "ipv6")) {
      mismatches++;
      t.fail(`${entry} vs ${peerText}`);
    }
  }
  t.equal(mismatches, 0);
});

t.test("random IPv4 ranges match as node's BlockList says, also for mapped peers", async (t) => {
  const next = random(6);
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const network = Array.from({ length: 4 }, () => Math.floor(next() * 256));
    const peer = network.map((b) => (next() < 0.3 ? Math.floor(next() * 256) : b));
    const prefix = Math.floor(next() * 33);
    const entry = `${network.join(".")}/${prefix}`;
    const oracle = new BlockList();
    oracle.addSubnet(network.join("."), prefix, "ipv4");
    const expected = oracle.check(peer.join("."), "ipv4");
    const peers = [peer.join("."), `::ffff:${peer.join(".")}`];
    for (const peerText of peers) {
      if (clientAllowed(list(entry), peerText) !== expected) {
        mismatches++;
        t.fail(`${entry} vs ${peerText}`);
      }
    }
  }
  t.equal(mismatches, 0);
});
