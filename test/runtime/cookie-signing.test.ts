// Signed cookies: what the server signed reads back; anything altered reads as absent; keys rotate.
import t from "tap";
import { CookieSigner } from "../../src/runtime/cookie-signing.ts";

const OLD = "old-secret-0123456789abcdef0123456789";
const NEW = "new-secret-0123456789abcdef0123456789";

t.test("a signed value reads back", async (t) => {
  const signer = new CookieSigner([NEW]);
  const signed = await signer.sign("user", "ada");
  t.match(signed, /^ada\.[A-Za-z0-9_-]{43}$/);
  t.equal(await signer.verify("user", signed), "ada");
  t.equal(await signer.verify("user", await signer.sign("user", "a.b.c")), "a.b.c", "dots in the value");
  t.equal(await signer.verify("user", await signer.sign("user", "")), "", "an empty value");
});

t.test("a tampered, truncated, unsigned or moved cookie reads as absent", async (t) => {
  const signer = new CookieSigner([NEW]);
  const signed = await signer.sign("user", "ada");
  const [, mac] = signed.split(".");
  t.equal(await signer.verify("user", `admin.${mac}`), undefined, "value changed");
  t.equal(await signer.verify("user", signed.slice(0, -1) + (signed.endsWith("A") ? "B" : "A")), undefined, "signature changed");
  t.equal(await signer.verify("user", signed.slice(0, -2)), undefined, "signature cut short");
  t.equal(await signer.verify("user", "ada"), undefined, "no signature");
  t.equal(await signer.verify("user", "ada.!!!"), undefined, "not base64url");
  t.equal(await signer.verify("role", signed), undefined, "signed for another cookie");
  t.equal(await signer.verify("user", undefined), undefined, "no cookie");
  t.equal(await new CookieSigner(["another-secret-0123456789abcdef01234"]).verify("user", signed), undefined, "another key");
});

t.test("keys rotate: sign with the first, accept any", async (t) => {
  const before = new CookieSigner([OLD]);
  const during = new CookieSigner([NEW, OLD]);
  const after = new CookieSigner([NEW]);
  const oldCookie = await before.sign("id", "42");
  t.equal(await during.verify("id", oldCookie), "42", "a cookie signed with the old key still reads");
  const newCookie = await during.sign("id", "42");
  t.equal(await after.verify("id", newCookie), "42", "new cookies are signed with the first key");
  t.equal(await after.verify("id", oldCookie), undefined, "once the old key is dropped, its cookies read as absent");
});

t.test("without cookie_secret, signing and reading throw a coded error that says to set it", async (t) => {
  const signer = new CookieSigner([]);
  await t.rejects(signer.sign("user", "ada"), { code: "TSCGI_E_API_COOKIE_SECRET_MISSING", message: /"user".*set cookie_secret/ });
  await t.rejects(signer.verify("user", "ada.x"), { code: "TSCGI_E_API_COOKIE_SECRET_MISSING" });
});
