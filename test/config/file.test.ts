// The key = value file format: comments, quotes, the [tscgi] header; and JSON files.

import t from "tap";
import { parseJson, parseKeyValue } from "../../src/config/file.ts";

const raw = (text: string) => Object.fromEntries([...parseKeyValue(text, "test.conf")].map(([key, value]) => [key, value.raw]));

t.test("comments, blank lines and surrounding spaces are ignored", async (t) => {
  const text = "; comment\n# comment\n\n   \n  listen   =   9000  \r\nroot=scripts\n";
  t.same(raw(text), { listen: "9000", root: "scripts" });
});

t.test("a ; or # after a space ends an unquoted value; inside quotes it is kept", async (t) => {
  const text = [
    "max_body_size = 16m ; sixteen",
    "mount = /app # the app",
    "root = dir#1",
    'access_log = "/var/log/a;b #c.log" ; comment',
    "error_log = '/var/log/its' # single quotes",
  ].join("\n");
  t.same(raw(text), {
    max_body_size: "16m",
    mount: "/app",
    root: "dir#1",
    access_log: "/var/log/a;b #c.log",
    error_log: "/var/log/its",
  });
});

t.test("quotes keep surrounding spaces and allow an empty value", async (t) => {
  t.same(raw('root = "  spaced  "\nhttp = ""\n'), { root: "  spaced  ", http: "" });
});

t.test("an [tscgi] header is accepted and changes nothing", async (t) => {
  t.same(raw("[tscgi]\nworkers = 2\n"), { workers: "2" });
});

t.test("each value remembers its line", async (t) => {
  const values = parseKeyValue("\n\nworkers = 2\n", "test.conf");
  t.same(values.get("workers")?.origin, { kind: "file", file: "test.conf", line: 3 });
});

t.test("a byte order mark is not part of the first key", async (t) => {
  const dir = t.testdir({ "bom.conf": "\uFEFFworkers = 2\n" });
  const { readConfigFile } = await import("../../src/config/file.ts");
  t.equal(readConfigFile(`${dir}/bom.conf`, "bom.conf").get("workers")?.raw, "2");
});

t.test("JSON values become the text the parsers take", async (t) => {
  const values = parseJson('{"workers": 2, "extensions": [".ts", ".js"], "http": null, "listen": "9000"}', "t.json");
  t.same(Object.fromEntries([...values].map(([key, value]) => [key, value.raw])), {
    workers: "2",
    extensions: ".ts,.js",
    http: "",
    listen: "9000",
  });
  t.equal(values.get("http")?.shown, "null");
});
