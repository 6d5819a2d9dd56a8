// Every error code in src/ has a row in docs/errors.md, each row names a real code, and no code is defined twice.
import t from "tap";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BodyAbortedError, BodyTooLargeError, ClientGoneError, InvalidHeaderError, InvalidStatusError } from "../src/cgi/errors.ts";
import { ClientConnectError, ClientProtocolError, ClientTimeoutError } from "../src/client/errors.ts";
import { AccessFormatError } from "../src/config/access-format.ts";
import { ConfigBadValueError, ConfigConflictError, ConfigFileError, ConfigUnknownKeyError } from "../src/config/errors.ts";
import { isTscgiError, messageOf, stackOf, type TscgiError } from "../src/errors.ts";
import {
  BadBeginRequestError,
  BadVersionError,
  ConnectionClosedError,
  DuplicateRequestError,
  MalformedParamsError,
  ParamsTimeoutError,
  ParamsTooLargeError,
  PendingParamsTooLargeError,
  RecordTooLargeError,
  RequestAbortedError,
  TooManyParamsError,
} from "../src/fastcgi/errors.ts";
import {
  BodyConsumedError,
  CookieInvalidError,
  CookieSecretMissingError,
  FormFieldTooLargeError,
  FormContentTypeError,
  FormMalformedError,
  HeadersSentError,
  BodyJsonError,
  RedirectInvalidError,
  SessionClosedError,
  SessionDataError,
  SessionLockTimeoutError,
  SessionStoreError,
  FormTooManyFieldsError,
  UploadTooManyFilesError,
  UploadStorageError,
  UploadTooLargeError,
} from "../src/runtime/errors.ts";
import { HttpError } from "../src/runtime/http-error.ts";
import { TemplateNameError } from "../src/runtime/templates.ts";
import {
  ScriptBadPathError,
  RequireEsmError,
  ScriptCompileError,
  ScriptExportError,
  ScriptImportError,
  ScriptNotFoundError,
  ScriptRootError,
} from "../src/scripts/errors.ts";
import {
  AcceptError,
  AuthorizeExportError,
  InheritedSocketError,
  ListenError,
  MaxConnectionsError,
  RequestTimeoutError,
  ResponseStreamError,
  ScriptChdirError,
  ScriptExitError,
} from "../src/server/errors.ts";
import { TemplateError, TemplateNotFoundError } from "../src/server/templates.ts";
import { NodeInternalError } from "../src/node-internals.ts";
import { repo } from "./helpers/tscgi.ts";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const defined: string[] = [];
for (const file of sources(join(repo, "src"))) {
  for (const m of readFileSync(file, "utf8").matchAll(/code = "(TSCGI_E_[A-Z0-9_]+)"/g)) defined.push(m[1]);
}
const documented = [...readFileSync(join(repo, "docs/errors.md"), "utf8").matchAll(/^\| `(TSCGI_E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

/** The prefix after TSCGI_E_ each layer's codes carry (the files at the top of src/ under ""). */
const LAYER_PREFIX: Readonly<Record<string, string>> = {
  fastcgi: "FCGI",
  cgi: "CGI",
  scripts: "SCRIPT",
  runtime: "API",
  stores: "STORE",
  server: "SERVER",
  pool: "POOL",
  client: "CLIENT",
  config: "CONFIG",
  "": "NODE",
};

const pascal = (words: string) =>
  words
    .toLowerCase()
    .split("_")
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");

t.test("each code carries its layer's prefix, and its class is named by the code's words", async (t) => {
  let classes = 0;
  for (const file of sources(join(repo, "src"))) {
    const rel = file.slice(join(repo, "src").length + 1).split("/");
    const prefix = LAYER_PREFIX[rel.length > 1 ? rel[0] : ""];
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/export class (\w+) extends \w+ \{\n(?:[^\n]*\n)*?\s+readonly code = "TSCGI_E_([A-Z0-9_]+)"/g)) {
      const [, name, words] = m;
      classes++;
      t.ok(words.startsWith(`${prefix}_`), `${name}: TSCGI_E_${words} starts with TSCGI_E_${prefix}_ (${rel.join("/")})`);
      // The whole code or the part after the prefix: ScriptNotFoundError, BadVersionError (FCGI_BAD_VERSION).
      const allowed = [pascal(words) + "Error", pascal(words.slice(prefix.length + 1)) + "Error"];
      t.ok(allowed.includes(name), `${name} is named ${allowed.join(" or ")}`);
    }
  }
  t.equal(classes, new Set(defined).size, "every code was found on a class");
});

t.test("each code is defined once", async (t) => {
  t.same(
    defined.filter((c, i) => defined.indexOf(c) !== i),
    [],
  );
  t.ok(defined.length >= 10, `${defined.length} codes found`);
});

t.test("docs/errors.md documents exactly the codes src/ defines", async (t) => {
  t.same([...new Set(documented)].sort(), [...new Set(defined)].sort());
});

t.test("errors are recognised by brand, not by class identity", async (t) => {
  const e = new HttpError(404, "no such user");
  t.ok(isTscgiError(e));
  t.equal(e.status, 404);
  t.equal(e.code, "TSCGI_E_API_HTTP");
  t.notOk(isTscgiError(new Error("plain")));
  t.notOk(isTscgiError({ code: "TSCGI_E_API_HTTP" }), "a look-alike object is not one");
  t.throws(() => new HttpError(200), RangeError);
});

// One instance of every error class, built as tscgi builds it; a new class fails the test below until it is added here.
const origin = { kind: "flag", name: "--listen" } as const;
const cause = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
const instances: TscgiError[] = [
  new HttpError(418, "short and stout"),
  new HeadersSentError("cgi.status()"),
  new CookieInvalidError("id", "a space in the value"),
  new CookieSecretMissingError("id"),
  new UploadTooLargeError("photo", 1024),
  new UploadTooManyFilesError(2),
  new FormTooManyFieldsError(10),
  new FormFieldTooLargeError("name", 100),
  new FormMalformedError("no boundary"),
  new FormContentTypeError("text/plain"),
  new SessionLockTimeoutError(1000),
  new SessionStoreError("redis", "read", cause),
  new SessionDataError("when", "a Date"),
  new SessionClosedError("set"),
  new UploadStorageError("/tmp/up", cause),
  new BodyConsumedError("cgi.form()", "cgi.text()"),
  new BodyJsonError("Unexpected token"),
  new RedirectInvalidError("a Location with a newline"),
  new TemplateNameError("../secret.njk", 'it contains a ".." segment'),
  new TemplateNotFoundError("page.njk", "/srv/templates", "no such file"),
  new TemplateError("/srv/templates/page.njk", 3, 4, "TypeError: missing.join is not a function", { cause }),
  new BodyTooLargeError(1000),
  new InvalidHeaderError("X Bad", "v"),
  new InvalidStatusError(99),
  new BodyAbortedError(),
  new ClientGoneError(),
  new ScriptNotFoundError("/nope"),
  new ScriptBadPathError("/a/../b", "a .. segment"),
  new ScriptRootError("/srv/none", { cause }),
  new ScriptCompileError("/srv/a.ts", 1, 2, "Unexpected }", { cause }),
  new ScriptExportError("/srv/a.ts", "missing"),
  new ScriptImportError("/srv/a.ts", "./b.ts"),
  new RequireEsmError("/srv/a.ts", "esm-only", false, { cause }),
  new RequestTimeoutError(1000),
  new ResponseStreamError(cause),
  new ListenError("127.0.0.1:9000", cause),
  new MaxConnectionsError(10, true),
  new AcceptError(cause),
  new ScriptExitError(3),
  new ScriptChdirError("/tmp"),
  new InheritedSocketError(3, "LISTEN_FDS"),
  new AuthorizeExportError("/srv/a.ts"),
  new BadVersionError(2),
  new BadBeginRequestError(1, 7),
  new DuplicateRequestError(1),
  new ParamsTooLargeError(1000),
  new TooManyParamsError(10),
  new PendingParamsTooLargeError(1000),
  new ParamsTimeoutError(1000),
  new MalformedParamsError("a pair"),
  new RecordTooLargeError(70000),
  new RequestAbortedError(1),
  new ConnectionClosedError(1),
  new ConfigUnknownKeyError("listn", origin, "listen"),
  new ConfigBadValueError("workers", '"many"', "a whole number", origin),
  new ConfigFileError("tscgi.conf", 3, "no = sign", { cause }),
  new ConfigConflictError([{ key: "max_params_bytes", value: "1k", origin }], "max_pending_params_bytes at least max_params_bytes"),
  new AccessFormatError("%x", "%x", "unknown token"),
  new ClientConnectError("127.0.0.1:9000", cause),
  new ClientTimeoutError("127.0.0.1:9000", 1000),
  new ClientProtocolError("127.0.0.1:9000", "a record of an unknown type"),
  new NodeInternalError("Buffer#utf8Slice", "v99.0.0"),
];

/** docs/errors.md's Status cell for each code: a number when a request is answered with it. */
const documentedStatus = new Map(
  [...readFileSync(join(repo, "docs/errors.md"), "utf8").matchAll(/^\| `(TSCGI_E_[A-Z0-9_]+)` \| ([^|]*) \|/gm)].map((m) => [
    m[1],
    m[2].trim(),
  ]),
);

t.test("every class is built here, with the code and status docs/errors.md gives it", async (t) => {
  const built = new Set(instances.map((e) => e.code));
  t.same(
    [...new Set(defined)].filter((code) => !built.has(code)),
    [],
    "codes with no instance above",
  );
  for (const e of instances) {
    t.ok(isTscgiError(e), `${e.name} is a TscgiError`);
    const cell = documentedStatus.get(e.code);
    if (cell === undefined) {
      t.fail(`${e.code} (${e.name}) has no row in docs/errors.md`);
      continue;
    }
    const number = /^\d{3}/.exec(cell);
    if (e.code === "TSCGI_E_API_HTTP") t.equal(cell, "the one given", "HttpError: the script's status");
    else if (number !== null) t.equal(e.status, Number(number[0]), `${e.code}: status ${cell}`);
    else t.equal(cell, "—", `${e.code}: a status or "—" (never answers a request)`);
  }
});

/** What docs/errors.md allows a message to start with: lower case, with no program or layer prefix. */
const PREFIXED = /^(tscgi|fastcgi|fcgi|cgi|scripts?|api|stores?|server|pool|client|config|node): /;

t.test("every message follows one style: lower case, no tscgi: or layer prefix", async (t) => {
  for (const e of instances) {
    // An HttpError's message is the script's own words, shown to the visitor as they are.
    if (e.code === "TSCGI_E_API_HTTP") continue;
    t.notMatch(e.message, PREFIXED, `${e.code}: no prefix (${e.message.slice(0, 40)})`);
    t.notMatch(e.message, /^[A-Z][a-z]/, `${e.code}: starts in lower case (${e.message.slice(0, 40)})`);
  }
});

t.test("a cause given to a constructor is kept on the error", async (t) => {
  for (const e of instances) {
    if (e.cause !== undefined) t.equal(e.cause, cause, `${e.name} keeps its cause`);
  }
  const withCause = instances.filter((e) => e.cause === cause).map((e) => e.name);
  t.same(
    withCause.sort(),
    [
      "AcceptError",
      "ClientConnectError",
      "ConfigFileError",
      "ListenError",
      "RequireEsmError",
      "ScriptCompileError",
      "ScriptRootError",
      "ResponseStreamError",
      "SessionStoreError",
      "TemplateError",
      "UploadStorageError",
    ].sort(),
  );
});

t.test("anything thrown becomes text for a message or a log line", async (t) => {
  const error = new Error("disk full");
  t.equal(messageOf(error), "disk full");
  t.match(stackOf(error), /^Error: disk full\n\s+at /, "a log line gets the stack");
  const stackless = Object.assign(new Error("no stack"), { stack: undefined });
  t.equal(stackOf(stackless), "no stack", "an error without a stack gives its message");
  t.equal(messageOf("a string"), "a string");
  t.equal(stackOf(42), "42");
  t.equal(messageOf(null), "null");
});
