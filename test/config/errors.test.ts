// Every bad setting stops loading with a message naming the key, the value, what is allowed and where.

import t from "tap";
import { isTscgiError } from "../../src/errors.ts";
import { failure, project } from "../helpers/config.ts";
import { ConfigBadValueError, ConfigError, ConfigFileError, ConfigUnknownKeyError } from "../../src/config/errors.ts";
import { loadConfig } from "../../src/config/load.ts";

t.test("a bad value in the file names the key, file:line, value and what is allowed", async (t) => {
  const cwd = project(t, "; sizes\n\nworkers = 2\nmax_body_size = 12x\n");
  const error = failure(() => loadConfig({ argv: [], env: {}, cwd }));
  t.type(error, ConfigBadValueError);
  t.type(error, ConfigError);
  t.ok(isTscgiError(error));
  t.match(error, { code: "TSCGI_E_CONFIG_BAD_VALUE", key: "max_body_size", value: '"12x"', status: 500 });
  t.equal(error.message, 'bad value for max_body_size in conf/tscgi.conf:4: "12x" (expected a size like 1048576, 512k, 64m, 1g)');
});

t.test("a bad value in the environment names the variable", async (t) => {
  const cwd = project(t);
  const error = failure(() => loadConfig({ argv: [], env: { TSCGI_WORKERS: "many" }, cwd }));
  t.equal(
    error.message,
    'bad value for workers in environment variable TSCGI_WORKERS: "many" (expected auto (one per CPU) or a whole number from 0 to 1024)',
  );
});

t.test("a bad value in a flag names the flag, with the reason when there is one", async (t) => {
  const cwd = project(t);
  const error = failure(() => loadConfig({ argv: ["--listen", "127.0.0.1:99999"], env: {}, cwd }));
  t.equal(
    error.message,
    'bad value for listen in flag --listen: "127.0.0.1:99999" ' +
      "(expected HOST:PORT, [IPv6]:PORT, PORT or a Unix socket path, port 1-65535; port 99999 is outside 1-65535)",
  );
});

t.test("a flag given without its value is a bad value, not a silent default", async (t) => {
  const cwd = project(t);
  t.throws(() => loadConfig({ argv: ["--workers"], env: {}, cwd }), { code: "TSCGI_E_CONFIG_BAD_VALUE", value: '""' });
});

t.test("a bad value is reported even when a higher source overrides it", async (t) => {
  const cwd = project(t, "workers = lots\n");
  t.throws(() => loadConfig({ argv: ["--workers", "2"], env: {}, cwd }), {
    code: "TSCGI_E_CONFIG_BAD_VALUE",
    key: "workers",
    origin: { kind: "file", line: 1 },
  });
});

t.test("a root that does not exist or is a file is refused, naming its path", async (t) => {
  const cwd = t.testdir({ "cgi-bin": {}, "file.txt": "" });
  const missing = failure(() => loadConfig({ argv: ["--root", "nope"], env: {}, cwd }));
  t.match(
    missing.message,
    /^bad value for root in flag --root: "nope" \(expected a path to an existing directory; .*nope does not exist\)$/,
  );
  t.match(failure(() => loadConfig({ argv: ["--root", "file.txt"], env: {}, cwd })).message, /file\.txt is not a directory/);
  const byDefault = failure(() => loadConfig({ argv: [], env: {}, cwd: t.testdir({}) }));
  t.match(byDefault.message, /^bad value for root in the default: "cgi-bin"/);
});

t.test("an unknown file key is named with its line and the nearest key", async (t) => {
  const cwd = project(t, "[tscgi]\nmax_body = 1m\n");
  const error = failure(() => loadConfig({ argv: [], env: {}, cwd }));
  t.type(error, ConfigUnknownKeyError);
  t.match(error, { code: "TSCGI_E_CONFIG_UNKNOWN_KEY", key: "max_body", suggestion: "max_body_size" });
  t.equal(
    error.message,
    "unknown key max_body in conf/tscgi.conf:2 (did you mean max_body_size? every key is listed by tscgi --help and in docs/config.md)",
  );
});

t.test("an unknown environment variable is named with the nearest one", async (t) => {
  const cwd = project(t);
  const error = failure(() => loadConfig({ argv: [], env: { TSCGI_LISTN: "9000" }, cwd }));
  t.match(error, { code: "TSCGI_E_CONFIG_UNKNOWN_KEY", key: "TSCGI_LISTN", suggestion: "TSCGI_LISTEN" });
  t.match(error.message, /^unknown environment variable TSCGI_LISTN \(did you mean TSCGI_LISTEN\?/);
});

t.test("an unknown flag is named with the nearest one, in the spelling flags use", async (t) => {
  const cwd = project(t);
  const cases: [string[], string, string | null][] = [
    [["--max-body", "1m"], "--max-body", "--max-body-size"],
    [["--max_body_size", "1m"], "--max_body_size", "--max-body-size"],
    [["--wrokers", "2"], "--wrokers", "--workers"],
    [["--versoin"], "--versoin", "--version"],
    [["-x"], "-x", null],
    [["--frobnicate"], "--frobnicate", null],
  ];
  for (const [argv, key, suggestion] of cases) {
    t.throws(() => loadConfig({ argv, env: {}, cwd }), { code: "TSCGI_E_CONFIG_UNKNOWN_KEY", key, suggestion }, argv.join(" "));
  }
  t.match(failure(() => loadConfig({ argv: ["-x"], env: {}, cwd })).message, /^unknown flag -x \(every key/);
});

t.test("environment variables that do not start with TSCGI_, and TSCGI_CONFIG, are not keys", async (t) => {
  const cwd = project(t);
  t.doesNotThrow(() => loadConfig({ argv: [], env: { PATH: "/bin", TSCGIX: "1", TSCGI_CONFIG: "" }, cwd }));
});

t.test("file syntax errors name the file and line", async (t) => {
  const cases: [string, RegExp][] = [
    ["workers 2\n", /^config file conf\/tscgi\.conf:1: expected "key = value", got "workers 2"$/],
    ["\n[www]\n", /^config file conf\/tscgi\.conf:2: sections are not supported: \[www\]/],
    ["= 2\n", /conf\/tscgi\.conf:1: a key is missing/],
    ['listen = "127.0.0.1:9000\n', /conf\/tscgi\.conf:1: the value .* has no closing "/],
    ['listen = "127.0.0.1:9000" x\n', /conf\/tscgi\.conf:1: unexpected x after the quoted value/],
    ["workers = 1\n\nworkers = 2\n", /conf\/tscgi\.conf:3: workers is set twice, on lines 1 and 3; keep one/],
  ];
  for (const [conf, message] of cases) {
    const error = failure(() => loadConfig({ argv: [], env: {}, cwd: project(t, conf) }));
    t.type(error, ConfigFileError, JSON.stringify(conf));
    t.match(error, { code: "TSCGI_E_CONFIG_FILE", message }, JSON.stringify(conf));
  }
});

t.test("a config file that cannot be read is named", async (t) => {
  const cwd = project(t);
  t.throws(() => loadConfig({ argv: ["--config", "missing.conf"], env: {}, cwd }), {
    code: "TSCGI_E_CONFIG_FILE",
    message: "config file missing.conf: cannot be read: no such file",
  });
  t.throws(() => loadConfig({ argv: [], env: { TSCGI_CONFIG: "/nonexistent/tscgi.conf" }, cwd }), {
    message: "config file /nonexistent/tscgi.conf: cannot be read: no such file",
  });
});

t.test("JSON errors name the file and, where they can, the line", async (t) => {
  const files = {
    "cgi-bin": {},
    "syntax.json": '{\n  "workers": 2,\n}\n',
    "array.json": "[]",
    "unknown.json": '{\n  "workers": 2,\n  "listn": "9000"\n}\n',
    "type.json": '{\n  "workers": true\n}\n',
  };
  const cwd = t.testdir(files);
  const load = (file: string) => failure(() => loadConfig({ argv: ["-c", file], env: {}, cwd }));
  t.match(load("syntax.json"), { code: "TSCGI_E_CONFIG_FILE", message: /^config file syntax\.json:3: invalid JSON/ });
  t.match(load("array.json"), { code: "TSCGI_E_CONFIG_FILE", message: /one object of keys and values/ });
  t.match(load("unknown.json"), {
    code: "TSCGI_E_CONFIG_UNKNOWN_KEY",
    message: /unknown key listn in unknown\.json:3 \(did you mean listen\?/,
  });
  t.equal(
    load("type.json").message,
    "bad value for workers in type.json:2: true (expected auto (one per CPU) or a whole number from 0 to 1024; write it as a JSON string)",
  );
});
