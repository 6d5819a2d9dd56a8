// ScriptResolver: URL path -> script file, tested as attacks first and happy paths second.

import t from "tap";
import { mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isTscgiError } from "../../src/errors.ts";
import { ScriptBadPathError, ScriptNotFoundError, ScriptRootError } from "../../src/scripts/errors.ts";
import { MAX_PATH_LENGTH, ScriptResolver, type ResolverOptions } from "../../src/scripts/resolve.ts";
import { makeTree } from "./fixtures/tree.ts";

const script = "export default () => 'hi';\n";
const tree = makeTree("resolve", {
  "root/index.ts": script,
  "root/hello.ts": script,
  "root/users.ts": script,
  "root/admin/index.ts": script,
  "root/admin/settings.ts": script,
  "root/api/v1/items.ts": script,
  "root/blog.tsx": script,
  "root/page.mts": script,
  "root/old.js": script,
  "root/mod.mjs": script,
  "root/pref.ts": script,
  "root/pref.js": script,
  "root/data.json": "{}",
  "root/hello.sh": "#!/bin/sh\n",
  "root/_lib/db.ts": script,
  "root/_private.ts": script,
  "root/.env": "SECRET=1\n",
  "root/.git/config": "[core]\n",
  "root/.hidden/x.ts": script,
  "root/noindex/other.ts": script,
  "root/node_modules/index.ts": script,
  "root/node_modules/pkg/index.js": script,
  "root/node_modules/pkg/run.ts": script,
  "root/Node_Modules/pkg/run.ts": script,
  "root/lib/node_modules/pkg/run.ts": script,
  "root/ünïcödé.ts": script,
  "root/日本.ts": script,
  "root/with space.ts": script,
  "outside/secret.ts": script,
  "outside/index.ts": script,
});
t.teardown(() => tree.remove());

const root = tree.path("root");
symlinkSync("hello.ts", join(root, "link-in.ts"));
symlinkSync("../outside/secret.ts", join(root, "link-out.ts"));
symlinkSync("../outside", join(root, "linkdir-out"));
symlinkSync("admin", join(root, "linkdir-in"));
symlinkSync("loop-b.ts", join(root, "loop-a.ts"));
symlinkSync("loop-a.ts", join(root, "loop-b.ts"));

type Outcome = { status: number; code: string } | { file: string; scriptName: string; pathInfo: string };

function outcome(resolver: ScriptResolver, path: string, rawPath?: string): Outcome {
  try {
    const { file, scriptName, pathInfo } = resolver.resolve(path, rawPath);
    return { file: file.slice(root.length + 1), scriptName, pathInfo };
  } catch (error) {
    if (!isTscgiError(error)) throw error;
    return { status: error.status, code: error.code };
  }
}

function resolver(options: Partial<ResolverOptions> = {}): ScriptResolver {
  return new ScriptResolver({ root, mount: "/", extensions: [".ts", ".tsx", ".mts", ".js", ".mjs"], index: "index", ...options });
}

const BAD = { status: 400, code: "TSCGI_E_SCRIPT_BAD_PATH" };
const NOT_FOUND = { status: 404, code: "TSCGI_E_SCRIPT_NOT_FOUND" };
const found = (file: string, scriptName: string, pathInfo = "") => ({ file, scriptName, pathInfo });

t.test("attacks are refused", async (t) => {
  // [decoded path, raw REQUEST_URI path or undefined, expected]
  const attacks: Array<[string, string | undefined, Outcome]> = [
    ["/../outside/secret", undefined, BAD],
    ["/../outside/secret", "/../outside/secret", BAD],
    ["/hello/../../outside/secret", undefined, BAD],
    ["/..", undefined, BAD],
    ["/./hello", undefined, BAD],
    ["/hello/.", undefined, BAD],
    ["/users/42/../../x", undefined, BAD],
    // /..%2f: nginx decodes it to /../ (a dot segment) and the raw form carries an encoded slash.
    ["/../outside/secret", "/..%2foutside/secret", BAD],
    ["/..%2foutside/secret", "/..%2foutside/secret", BAD],
    // Given undecoded, nothing decodes it again: a literal name that does not exist.
    ["/..%2foutside/secret", undefined, NOT_FOUND],
    // %2e%2e given decoded (a dot segment) and raw (a literal, never decoded here).
    ["/../outside/secret", "/%2e%2e/outside/secret", BAD],
    ["/%2e%2e/outside/secret", undefined, NOT_FOUND],
    ["/%2E%2E/outside/secret", undefined, NOT_FOUND],
    ["/hello", "/hello%2F..%2F..%2Foutside", BAD],
    ["/hello", "/hello%2f", BAD],
    ["/hello", "/hello%5Cx", BAD],
    ["/hello", "/hello%5cx", BAD],
    ["/hello", "/hello%00.ts", BAD],
    ["/a\\b", undefined, BAD],
    ["/..\\outside\\secret", undefined, BAD],
    ["/hello\0.ts", undefined, BAD],
    ["/hello%00", undefined, NOT_FOUND],
    ["hello", undefined, BAD],
    ["", undefined, BAD],
    // Private and hidden names: 404, never revealing that they exist.
    ["/_lib/db", undefined, NOT_FOUND],
    ["/_lib/db.ts", undefined, NOT_FOUND],
    ["/_lib/", undefined, NOT_FOUND],
    ["/_private", undefined, NOT_FOUND],
    ["/_private.ts", undefined, NOT_FOUND],
    ["/.env", undefined, NOT_FOUND],
    ["/.git/config", undefined, NOT_FOUND],
    ["/.hidden/x", undefined, NOT_FOUND],
    ["/.hidden/x.ts", undefined, NOT_FOUND],
    // A site's packages: node_modules is never routable, in any case, at any depth, nor as an index.
    ["/node_modules/pkg/run", undefined, NOT_FOUND],
    ["/node_modules/pkg/run.ts", undefined, NOT_FOUND],
    ["/node_modules/pkg/run/extra", undefined, NOT_FOUND],
    ["/node_modules/pkg", undefined, NOT_FOUND],
    ["/node_modules/pkg/", undefined, NOT_FOUND],
    ["/node_modules/pkg/index", undefined, NOT_FOUND],
    ["/node_modules", undefined, NOT_FOUND],
    ["/node_modules/", undefined, NOT_FOUND],
    ["//node_modules//pkg//run", undefined, NOT_FOUND],
    ["/node_modules/pkg/run", "/node%5fmodules/pkg/run", NOT_FOUND],
    ["/node_modules/pkg/run", "/%6Eode_modules/pkg/run", NOT_FOUND],
    ["/Node_Modules/pkg/run", undefined, NOT_FOUND],
    ["/NODE_MODULES/pkg/run", undefined, NOT_FOUND],
    ["/lib/node_modules/pkg/run", undefined, NOT_FOUND],
    ["/lib/node_modules/pkg/run.ts", undefined, NOT_FOUND],
    // Not allow-listed: 404 as if absent.
    ["/hello.sh", undefined, NOT_FOUND],
    ["/hello.json", undefined, NOT_FOUND],
    ["/data.json", undefined, NOT_FOUND],
    ["/data", undefined, NOT_FOUND],
    // Symlinks out of the root, to a file or through a directory.
    ["/link-out", undefined, NOT_FOUND],
    ["/link-out.ts", undefined, NOT_FOUND],
    ["/linkdir-out/secret", undefined, NOT_FOUND],
    ["/linkdir-out/", undefined, NOT_FOUND],
    ["/linkdir-out", undefined, NOT_FOUND],
    ["/loop-a", undefined, NOT_FOUND],
    // Very long paths and names.
    ["/" + "a/".repeat(MAX_PATH_LENGTH), undefined, BAD],
    ["/" + "a".repeat(300), undefined, NOT_FOUND],
    ["/" + "a".repeat(300) + "/b", undefined, NOT_FOUND],
  ];
  const r = resolver();
  for (const [path, raw, expected] of attacks) {
    const label =
      JSON.stringify(path.length > 60 ? path.slice(0, 60) + "..." : path) + (raw === undefined ? "" : ` raw ${JSON.stringify(raw)}`);
    t.same(outcome(r, path, raw), expected, label);
    // Asked twice, so the answer from the cache is the same refusal.
    t.same(outcome(r, path, raw), expected, label + " (cached)");
  }
});

t.test("longest match, index, PATH_INFO and slashes", async (t) => {
  const cases: Array<[string, Outcome]> = [
    ["/", found("index.ts", "/")],
    ["/hello", found("hello.ts", "/hello")],
    ["/hello/", found("hello.ts", "/hello", "/")],
    ["/hello.ts", found("hello.ts", "/hello.ts")],
    ["/hello.ts/x", found("hello.ts", "/hello.ts", "/x")],
    ["/users/42", found("users.ts", "/users", "/42")],
    ["/users/42/posts/", found("users.ts", "/users", "/42/posts/")],
    ["/users//42", found("users.ts", "/users", "/42")],
    ["//hello", found("hello.ts", "/hello")],
    ["/users/_x/.y", found("users.ts", "/users", "/_x/.y")],
    ["/users/node_modules/x", found("users.ts", "/users", "/node_modules/x")],
    ["/admin", found("admin/index.ts", "/admin/")],
    ["/admin/", found("admin/index.ts", "/admin/")],
    ["/admin/settings", found("admin/settings.ts", "/admin/settings")],
    ["/admin/settings/a/b", found("admin/settings.ts", "/admin/settings", "/a/b")],
    ["/admin/nope", NOT_FOUND],
    ["/noindex", NOT_FOUND],
    ["/noindex/other", found("noindex/other.ts", "/noindex/other")],
    ["/api/v1/items/7", found("api/v1/items.ts", "/api/v1/items", "/7")],
    ["/api/v1", NOT_FOUND],
    ["/blog", found("blog.tsx", "/blog")],
    ["/page", found("page.mts", "/page")],
    ["/old", found("old.js", "/old")],
    ["/mod", found("mod.mjs", "/mod")],
    ["/pref", found("pref.ts", "/pref")],
    ["/pref.js", found("pref.js", "/pref.js")],
    ["/link-in", found("hello.ts", "/link-in")],
    ["/linkdir-in/settings", found("admin/settings.ts", "/linkdir-in/settings")],
    ["/linkdir-in/", found("admin/index.ts", "/linkdir-in/")],
    ["/ünïcödé", found("ünïcödé.ts", "/ünïcödé")],
    ["/日本/x", found("日本.ts", "/日本", "/x")],
    ["/with space", found("with space.ts", "/with space")],
  ];
  const r = resolver();
  for (const [path, expected] of cases) t.same(outcome(r, path), expected, path);

  const deep = "/users/" + "x/".repeat(1000);
  t.same(outcome(r, deep), found("users.ts", "/users", deep.slice("/users".length)), "a deep PATH_INFO is kept whole");
});

t.test("mount prefix", async (t) => {
  for (const mount of ["/cgi-bin", "/cgi-bin/", "cgi-bin"]) {
    const r = resolver({ mount });
    t.equal(r.mount, "/cgi-bin", `${JSON.stringify(mount)} is normalized`);
    t.same(outcome(r, "/cgi-bin/hello"), found("hello.ts", "/cgi-bin/hello"));
    t.same(outcome(r, "/cgi-bin/users/42"), found("users.ts", "/cgi-bin/users", "/42"));
    t.same(outcome(r, "/cgi-bin"), found("index.ts", "/cgi-bin/"));
    t.same(outcome(r, "/cgi-bin/"), found("index.ts", "/cgi-bin/"));
    t.same(outcome(r, "/cgi-bin/admin/"), found("admin/index.ts", "/cgi-bin/admin/"));
    t.same(outcome(r, "/hello"), NOT_FOUND, "outside the mount");
    t.same(outcome(r, "/cgi-binx/hello"), NOT_FOUND, "a longer first segment is not the mount");
    t.same(outcome(r, "/"), NOT_FOUND);
    t.same(outcome(r, "/cgi-bin/../hello"), BAD);
  }
});

t.test("extension allow-list and preference", async (t) => {
  const tsOnly = resolver({ extensions: [".ts"] });
  t.same(outcome(tsOnly, "/old"), NOT_FOUND);
  t.same(outcome(tsOnly, "/old.js"), NOT_FOUND);
  t.same(outcome(tsOnly, "/blog"), NOT_FOUND);
  t.same(outcome(tsOnly, "/hello"), found("hello.ts", "/hello"));
  const jsFirst = resolver({ extensions: [".js", ".ts"] });
  t.same(outcome(jsFirst, "/pref"), found("pref.js", "/pref"));
  t.same(outcome(resolver({ index: "main" }), "/admin/"), NOT_FOUND, "another index name");
});

t.test("results are cached until invalidated", async (t) => {
  const r = resolver();
  t.same(outcome(r, "/fresh"), NOT_FOUND);
  writeFileSync(join(root, "fresh.ts"), script);
  t.same(outcome(r, "/fresh"), NOT_FOUND, "a cached miss does not look again");
  r.invalidate();
  t.same(outcome(r, "/fresh"), found("fresh.ts", "/fresh"));
  unlinkSync(join(root, "fresh.ts"));
  t.same(outcome(r, "/fresh"), found("fresh.ts", "/fresh"), "a cached hit does no stat");
  r.invalidate();
  t.same(outcome(r, "/fresh"), NOT_FOUND);

  mkdirSync(join(root, "newdir"));
  writeFileSync(join(root, "newdir", "index.ts"), script);
  r.invalidate();
  t.same(outcome(r, "/newdir/"), found("newdir/index.ts", "/newdir/"));
  rmSync(join(root, "newdir"), { recursive: true });
  r.invalidate();
  t.same(outcome(r, "/newdir/"), NOT_FOUND);

  const small = resolver({ cacheSize: 2 });
  t.same(outcome(small, "/hello"), found("hello.ts", "/hello"));
  t.same(outcome(small, "/users"), found("users.ts", "/users"));
  t.same(outcome(small, "/old"), found("old.js", "/old"));
  writeFileSync(join(root, "evict.ts"), script);
  t.same(outcome(small, "/evict"), found("evict.ts", "/evict"), "the cache is bounded");
  unlinkSync(join(root, "evict.ts"));
});

t.test("errors carry codes, statuses and the path", async (t) => {
  const r = resolver();
  const notFound = t.throws(() => r.resolve("/_lib/db")) as ScriptNotFoundError;
  t.ok(notFound instanceof ScriptNotFoundError);
  t.equal(notFound.path, "/_lib/db");
  t.match(notFound.reason, /private/);
  t.match((t.throws(() => r.resolve("/lib/node_modules/pkg/run")) as ScriptNotFoundError).reason, /"node_modules" is private/);
  const absent = t.throws(() => r.resolve("/nothing/here")) as ScriptNotFoundError;
  t.equal(
    notFound.message.replace('"/_lib/db"', "PATH"),
    absent.message.replace('"/nothing/here"', "PATH"),
    "a refusal reads like an absence, so the message cannot reveal existence",
  );
  const bad = t.throws(() => r.resolve("/a/../b")) as ScriptBadPathError;
  t.ok(bad instanceof ScriptBadPathError);
  t.match(bad.message, /"\.\." segment/);
  const rootError = t.throws(() => new ScriptResolver({ root: join(root, "missing"), mount: "/", extensions: [".ts"], index: "index" }));
  t.ok(rootError instanceof ScriptRootError);
  t.ok(
    t.throws(() => new ScriptResolver({ root: join(root, "hello.ts"), mount: "/", extensions: [".ts"], index: "index" })) instanceof
      ScriptRootError,
  );
});
