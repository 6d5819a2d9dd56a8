// The guestbook's password hashes: scrypt with a salt of their own, verified only by the right password.
import t from "tap";
import { decoyHash, hashPassword, verifyPassword } from "../../examples/guestbook/cgi-bin/_lib/passwords.ts";

t.test("a hash verifies its password and no other", async (t) => {
  const stored = await hashPassword("correct horse battery");
  t.match(stored, /^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/, "scheme, cost and salt are kept with the hash");
  t.notMatch(stored, /correct horse/);
  t.equal(await verifyPassword("correct horse battery", stored), true);
  t.equal(await verifyPassword("correct horse batterY", stored), false);
  t.equal(await verifyPassword("", stored), false);
});

t.test("the same password hashes differently each time (a salt per hash)", async (t) => {
  const [a, b] = await Promise.all([hashPassword("same"), hashPassword("same")]);
  t.not(a, b);
  t.equal(await verifyPassword("same", a), true);
  t.equal(await verifyPassword("same", b), true);
});

t.test("a composed and a decomposed é are the same password (NFC)", async (t) => {
  const stored = await hashPassword("caf\u00e9 au lait");
  t.equal(await verifyPassword("cafe\u0301 au lait", stored), true);
});

t.test("a malformed or foreign stored value never matches", async (t) => {
  const malformed = ["", "plain-text-password", "bcrypt$10$abc$def", "scrypt$32768$8$1$c2FsdA", "scrypt$32768$8$1$c2FsdA$"];
  const refusedCost = ["scrypt$abc$8$1$c2FsdA$aGFzaA", "scrypt$1048576$8$1$c2FsdA$aGFzaA"];
  for (const stored of [...malformed, ...refusedCost]) {
    t.equal(await verifyPassword("plain-text-password", stored), false, JSON.stringify(stored));
  }
});

t.test("the decoy checked for unknown names is a real hash of a random password, made once", async (t) => {
  const decoy = await decoyHash();
  t.match(decoy, /^scrypt\$/);
  t.equal(await decoyHash(), decoy);
  t.equal(await verifyPassword("", decoy), false);
});
