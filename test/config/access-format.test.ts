// parseAccessFormat: the names "default" and "json", PHP-FPM's tokens, and a clear error for anything else.
import t from "tap";
import { ACCESS_FORMAT_TOKEN_LIST, AccessFormatError, parseAccessFormat } from "../../src/config/access-format.ts";
import { isTscgiError } from "../../src/errors.ts";

t.test("the built-in formats are names, in any case", async (t) => {
  t.same(parseAccessFormat("default"), { kind: "default" });
  t.same(parseAccessFormat(" JSON "), { kind: "json" });
});

t.test("a token format becomes text and tokens; %% is text", async (t) => {
  t.same(parseAccessFormat('%R - %u %t "%m %r%Q%q" %s 100%%'), {
    kind: "tokens",
    parts: [
      { kind: "token", token: "R", arg: null },
      { kind: "text", text: " - " },
      { kind: "token", token: "u", arg: null },
      { kind: "text", text: " " },
      { kind: "token", token: "t", arg: null },
      { kind: "text", text: ' "' },
      { kind: "token", token: "m", arg: null },
      { kind: "text", text: " " },
      { kind: "token", token: "r", arg: null },
      { kind: "token", token: "Q", arg: null },
      { kind: "token", token: "q", arg: null },
      { kind: "text", text: '" ' },
      { kind: "token", token: "s", arg: null },
      { kind: "text", text: " 100%" },
    ],
  });
});

t.test("arguments: units are matched in any case and named canonically; names and time formats kept", async (t) => {
  const parts = (format: string) => {
    const parsed = parseAccessFormat(format);
    return parsed.kind === "tokens" ? parsed.parts : [];
  };
  t.same(parts("%{MILI}d %{miliseconds}d %{micro}d %{seconds}d"), [
    { kind: "token", token: "d", arg: "milliseconds" },
    { kind: "text", text: " " },
    { kind: "token", token: "d", arg: "milliseconds" },
    { kind: "text", text: " " },
    { kind: "token", token: "d", arg: "microseconds" },
    { kind: "text", text: " " },
    { kind: "token", token: "d", arg: "seconds" },
  ]);
  t.same(parts("%{kilo}M%{mega}M%{bytes}M"), [
    { kind: "token", token: "M", arg: "kilobytes" },
    { kind: "token", token: "M", arg: "megabytes" },
    { kind: "token", token: "M", arg: "bytes" },
  ]);
  t.same(parts("%{HTTP_HOST}e %{Content-Type}o %{%Y-%m-%d}t %{user}C"), [
    { kind: "token", token: "e", arg: "HTTP_HOST" },
    { kind: "text", text: " " },
    { kind: "token", token: "o", arg: "Content-Type" },
    { kind: "text", text: " " },
    { kind: "token", token: "t", arg: "%Y-%m-%d" },
    { kind: "text", text: " " },
    { kind: "token", token: "C", arg: "user" },
  ]);
});

t.test("a bad format throws AccessFormatError naming the token, with the list of tokens", async (t) => {
  const cases: Array<[format: string, token: string, detail: RegExp]> = [
    ["%R %x %s", "%x", /^unknown token %x; the tokens are %% %C %d %e/],
    ["%{HOST}z", "%{HOST}z", /^unknown token %\{HOST\}z; the tokens are/],
    ["%s %", "%", /^a lone % at the end \(write %% for a literal %\); the tokens are/],
    ["%{foo}", "%{foo}", /^%\{foo\} at the end names no token/],
    ["%{HTTP_HOST e", "%{HTTP_HOST e", /missing the closing \}/],
    ["%{x}m", "%{x}m", /^%\{x\}m: %m takes no \{argument\}/],
    ["%e", "%e", /^%e: %e needs a name between braces, like %\{NAME\}e/],
    ["%{}o", "%{}o", /%o needs a name/],
    ["%{days}d", "%{days}d", /the unit of %d is one of seconds, milliseconds, miliseconds, mili, microseconds, micro/],
    ["%{gigabytes}M", "%{gigabytes}M", /the unit of %M is one of bytes, kilobytes/],
    ["%{idle}C", "%{idle}C", /the unit of %C is one of total, user, system/],
    ["%{%Y %Q}t", "%{%Y %Q}t", /%Q is not supported; the time conversions are %a %A/],
    ["%{%H%}T", "%{%H%}T", /a lone % at the end/],
    ["%{}t", "%{}t", /an empty time format/],
    ["  ", "", /it is empty/],
  ];
  for (const [format, token, detail] of cases) {
    let error: unknown;
    try {
      parseAccessFormat(format);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof AccessFormatError, `${JSON.stringify(format)} is refused`);
    const e = error as AccessFormatError;
    t.equal(e.code, "TSCGI_E_CONFIG_ACCESS_FORMAT");
    t.ok(isTscgiError(e));
    t.equal(e.token, token, `${JSON.stringify(format)} names ${token}`);
    t.match(e.detail, detail);
    t.equal(e.message, `bad access_format ${JSON.stringify(format)}: ${e.detail}`);
  }
});

t.test("the token list names every PHP-FPM token", async (t) => {
  t.equal(ACCESS_FORMAT_TOKEN_LIST, "%% %C %d %e %f %l %m %M %n %o %p %P %q %Q %r %R %s %t %T %u");
});
