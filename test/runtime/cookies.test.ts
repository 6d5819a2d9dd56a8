// Cookies in and out: the Cookie header parsed as browsers send it, Set-Cookie built with safe defaults.
import t, { type Test } from "tap";
import { isTscgiError } from "../../src/errors.ts";
import {
  MAX_COOKIE_AGE_SECONDS,
  parseCookieHeader,
  serializeCookie,
  serializeCookieDeletion,
  type CookieOptions,
} from "../../src/runtime/cookies.ts";

t.test("a Cookie header becomes a read-only map of decoded values", async (t) => {
  const cookies = parseCookieHeader('theme=dark; name=Ada%20L%C3%B6wen; quoted="x y"; novalue; =anon; spaced = 1 ');
  t.same(cookies.toJSON(), { theme: "dark", name: "Ada Löwen", quoted: "x y", spaced: "1" });
  t.equal(cookies.get("theme"), "dark");
  t.equal(cookies.get("missing"), undefined);
  t.ok(cookies.has("name"));
  t.equal(cookies.size, 4);
  t.same([...cookies.keys()], ["theme", "name", "quoted", "spaced"]);
  t.notOk("set" in cookies, "no way to change them");
  const seen: string[] = [];
  cookies.forEach((value, key) => seen.push(`${key}:${value}`));
  t.same(seen, ["theme:dark", "name:Ada Löwen", "quoted:x y", "spaced:1"]);
});

t.test("the first of two same-named cookies wins; a malformed escape is kept as sent", async (t) => {
  const cookies = parseCookieHeader("id=specific; id=general; pct=100%; x=%E0%A4%A");
  t.equal(cookies.get("id"), "specific");
  t.equal(cookies.get("pct"), "100%");
  t.equal(cookies.get("x"), "%E0%A4%A");
});

t.test("no header, an empty header: no cookies", async (t) => {
  t.equal(parseCookieHeader(undefined).size, 0);
  t.equal(parseCookieHeader("").size, 0);
  t.equal(parseCookieHeader(";;").size, 0);
});

t.test("defaults are the safe ones: HttpOnly, SameSite=Lax, Path=/", async (t) => {
  t.equal(serializeCookie("theme", "dark"), "theme=dark; Path=/; HttpOnly; SameSite=Lax");
});

t.test("every attribute, in one cookie", async (t) => {
  const value = serializeCookie("__Secure-id", "a b;c", {
    maxAge: 3600,
    expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
    domain: "example.com",
    path: "/app",
    secure: true,
    httpOnly: false,
    sameSite: "None",
    partitioned: true,
  });
  t.equal(
    value,
    "__Secure-id=a%20b%3Bc; Max-Age=3600; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Domain=example.com; Path=/app; Secure; SameSite=None; Partitioned",
  );
});

t.test("values round-trip through percent-encoding, as PHP's setcookie and $_COOKIE do", async (t) => {
  const odd = `caf\u00e9; "quoted", back\\slash = ✓`;
  const header = serializeCookie("v", odd).split(";")[0];
  t.equal(parseCookieHeader(header).get("v"), odd);
});

t.test("Max-Age is capped at 400 days; deletion expires the cookie on the same path", async (t) => {
  t.match(serializeCookie("a", "b", { maxAge: 10 * 365 * 24 * 3600 }), `Max-Age=${MAX_COOKIE_AGE_SECONDS};`);
  t.equal(
    serializeCookieDeletion("a", { path: "/app" }),
    "a=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; HttpOnly; SameSite=Lax",
  );
});

t.test("raw values are sent as given, and must be cookie-octets", async (t) => {
  t.equal(serializeCookie("r", "a%2Fb", { raw: true }).split(";")[0], "r=a%2Fb");
  t.throws(() => serializeCookie("r", "a b", { raw: true }), { code: "TSCGI_E_API_COOKIE_INVALID" });
});

/** The coded error, naming the cookie, that a bad cookie throws. */
function refused(t: Test, name: string, value: string, options: CookieOptions, why: RegExp) {
  try {
    serializeCookie(name, value, options);
    t.fail(`${name} should be refused`);
  } catch (error) {
    t.ok(isTscgiError(error));
    t.equal((error as { code: string }).code, "TSCGI_E_API_COOKIE_INVALID");
    t.match((error as Error).message, JSON.stringify(name.slice(0, 80)), "names the cookie");
    t.match((error as Error).message, why);
  }
}

t.test("bad names, values and attributes throw a coded error naming the cookie", async (t) => {
  refused(t, "", "x", {}, /empty/);
  refused(t, "a b", "x", {}, /name may hold only/);
  refused(t, "a=b", "x", {}, /name may hold only/);
  refused(t, "a;b", "x", {}, /name may hold only/);
  refused(t, "caf\u00e9", "x", {}, /name may hold only/);
  refused(t, "lone", "\ud800", {}, /Unicode/);
  refused(t, "big", "x".repeat(4096), {}, /4096 bytes/);
  refused(t, "n", "x", { maxAge: 1.5 }, /whole number/);
  refused(t, "n", "x", { expires: new Date(NaN) }, /valid Date/);
  refused(t, "n", "x", { domain: "evil.com; Secure" }, /not a host name/);
  refused(t, "n", "x", { path: "/a;b" }, /path/);
  refused(t, "n", "x", { path: "relative" }, /path/);
  refused(t, "n", "x", { sameSite: "lax" as never }, /sameSite must be/);
  refused(t, "n", "x", { sameSite: "None" }, /needs secure/);
  refused(t, "n", "x", { partitioned: true }, /needs secure/);
  refused(t, "__Secure-n", "x", {}, /needs secure/);
  refused(t, "__Host-n", "x", { secure: true, path: "/app" }, /__Host-/);
  refused(t, "__Host-n", "x", { secure: true, domain: "example.com" }, /__Host-/);
  t.equal(serializeCookie("__Host-n", "x", { secure: true }), "__Host-n=x; Path=/; Secure; HttpOnly; SameSite=Lax");
});
