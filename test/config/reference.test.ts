// conf/tscgi.conf, docs/config.md and --help follow the schema: a key in one is in all.

import t from "tap";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configKeys, envName, flagName, schema, shownDefault } from "../../src/config/schema.ts";
import { defaults, loadConfig } from "../../src/config/load.ts";
import { helpText } from "../../src/config/help.ts";
import { parseKeyValue } from "../../src/config/file.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(repo + path, "utf8");

t.test("conf/tscgi.conf loads to the defaults", async (t) => {
  const cwd = t.testdir({ "cgi-bin": {}, conf: { "tscgi.conf": read("conf/tscgi.conf") } });
  const loaded = loadConfig({ argv: [], env: {}, cwd });
  t.equal(loaded.source, `${cwd}/conf/tscgi.conf`);
  t.same(loaded.config, { ...defaults, root: `${cwd}/cgi-bin`, templates: `${cwd}/templates` });
});

t.test("conf/tscgi.conf lists every key, commented out with its default", async (t) => {
  const conf = read("conf/tscgi.conf");
  const listed = [...conf.matchAll(/^;([a-z_]+) = (.*)$/gm)].map((match) => [match[1], match[2]]);
  t.same(
    listed,
    configKeys.map((key) => [key, shownDefault(key)]),
  );
  // Uncommented, the file must still load: every default is a valid value.
  const uncommented = conf.replace(/^;([a-z_]+ = )/gm, "$1");
  const values = parseKeyValue(uncommented, "tscgi.conf");
  t.same([...values.keys()], configKeys);
});

/** The rows of the Keys table in docs/config.md, as {key: [env, flag, default]}. */
function docRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of read("docs/config.md").split("\n")) {
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim().replace(/^`(.*)`$/, "$1"));
    if (cells.length !== 6 || cells[0] === "Key" || cells[0].startsWith("---")) continue;
    rows.set(cells[0], cells.slice(1, 4));
  }
  return rows;
}

t.test("docs/config.md documents every key, and no key that does not exist", async (t) => {
  const documented = [...docRows().keys()];
  const missing = configKeys.filter((key) => !documented.includes(key));
  const extra = documented.filter((key) => !(configKeys as string[]).includes(key));
  t.same(missing, [], "keys missing from docs/config.md");
  t.same(extra, [], "keys in docs/config.md that the schema does not have");
  t.same(documented, configKeys, "in schema order");
});

t.test("docs/config.md gives each key's env var, flag and default as the schema does", async (t) => {
  for (const [key, [env, flag, value]] of docRows()) {
    if (!Object.hasOwn(schema, key)) continue;
    t.same([env, flag, value], [envName(key), flagName(key), shownDefault(key as keyof typeof schema)], key);
  }
});

t.test("docs/config.md has a row for every config error code, and no other", async (t) => {
  const documented = [...read("docs/config.md").matchAll(/^\| `(TSCGI_E_CONFIG_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  const defined = ["errors.ts", "access-format.ts"].flatMap((file) =>
    [...read(`src/config/${file}`).matchAll(/code = "(TSCGI_E_CONFIG_[A-Z_]+)"/g)].map((m) => m[1]),
  );
  t.ok(defined.length >= 5, `${defined.length} codes in src/config`);
  t.same(documented.sort(), defined.sort());
});

t.test("helpText lists every flag with its default", async (t) => {
  const help = helpText();
  for (const key of configKeys) {
    const metavar = schema[key].metavar.replace(/[|%]/g, "\\$&");
    t.match(help, new RegExp(`^ +${flagName(key)} ${metavar}(?: |$)`, "m"), flagName(key));
  }
  // Descriptions wrap; unwrap them so a default split over two lines still reads as one.
  const defaultsShown = [...help.replace(/\n +/g, " ").matchAll(/\(default: ([^)]*)\)/g)].map((match) => match[1]);
  t.same(defaultsShown.slice(1), configKeys.map(shownDefault), "defaults in order, after --config's");
  for (const flag of [
    "-c, --config PATH",
    "-t, --test-config",
    "-h, --help",
    "-v, --version",
    "tscgi [serve] [options]",
    "tscgi cgi [FILE]",
    "tscgi ping [--timeout 5s] [--ready]",
    "tscgi status [--json] [--full]",
  ]) {
    t.ok(help.includes(flag), flag);
  }
});

t.test("helpText fits an 80-column terminal", async (t) => {
  t.same(
    helpText()
      .split("\n")
      .filter((line) => line.length > 80),
    [],
  );
});
