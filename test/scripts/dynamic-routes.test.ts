// `[param]` and `[...rest]` names: precedence between static and dynamic, and no way out through a parameter.

import t from "tap";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { isTscgiError } from "../../src/errors.ts";
import { ScriptResolver } from "../../src/scripts/resolve.ts";
import { makeTree } from "./fixtures/tree.ts";

const script = "export default () => 'hi';\n";
const tree = makeTree("dynamic", {
  "root/users/[id].ts": script,
  "root/users/me.ts": script,
  "root/users/[id]/posts.ts": script,
  "root/team/[name]/index.ts": script,
  "root/team/[name]/x.ts": script,
  "root/users/admin/index.ts": script,
  "root/docs/[...path].ts": script,
  "root/docs/intro.ts": script,
  "root/docs/index.ts": script,
  "root/shop/[cat]/[item].ts": script,
  "root/shop/sale/[item].ts": script,
  "root/shop/sale/today.ts": script,
  "root/a/[x].ts": script,
  "root/a/[y].ts": script,
  "root/a/[x].js": script,
  "root/p/[id].ts": script,
  "root/p/[id].json": "{}",
  "root/wiki.ts": script,
  "root/wiki/[...page].ts": script,
  "root/_lib/[id].ts": script,
  "root/node_modules/[id].ts": script,
  "root/[notes].txt": "x",
  "outside/secret.ts": script,
});
t.teardown(() => tree.remove());
const root = tree.path("root");
symlinkSync("../outside", join(root, "[out]"));
symlinkSync("../outside/secret.ts", join(root, "users", "[id]", "[leak].ts"));

type Outcome = { status: number } | { file: string; scriptName: string; pathInfo: string; params: Record<string, string> };

function outcome(path: string, rawPath?: string): Outcome {
  const resolver = new ScriptResolver({ root });
  try {
    const r = resolver.resolve(path, rawPath);
    return { file: r.file.slice(root.length + 1), scriptName: r.scriptName, pathInfo: r.pathInfo, params: { ...r.params } };
  } catch (error) {
    if (!isTscgiError(error)) throw error;
    return { status: error.status };
  }
}

const found = (file: string, scriptName: string, params: Record<string, string> = {}, pathInfo = "") => ({
  file,
  scriptName,
  pathInfo,
  params,
});

t.test("a [param] segment takes one URL segment as cgi.params", async (t) => {
  t.same(outcome("/users/42"), found("users/[id].ts", "/users/42", { id: "42" }));
  t.same(outcome("/users/42/posts"), found("users/[id]/posts.ts", "/users/42/posts", { id: "42" }));
  t.same(outcome("/team/ada/"), found("team/[name]/index.ts", "/team/ada/", { name: "ada" }));
  t.same(outcome("/team/ada"), found("team/[name]/index.ts", "/team/ada/", { name: "ada" }));
  t.same(outcome("/shop/books/7"), found("shop/[cat]/[item].ts", "/shop/books/7", { cat: "books", item: "7" }));
  // Values are the decoded segment as the web server sent it.
  t.same(outcome("/users/ünï cödé"), found("users/[id].ts", "/users/ünï cödé", { id: "ünï cödé" }));
  // Deeper than any file: the rest is PATH_INFO, as for a static script.
  t.same(outcome("/users/42/posts/9"), found("users/[id]/posts.ts", "/users/42/posts", { id: "42" }, "/9"));
});

t.test("static beats dynamic, segment by segment", async (t) => {
  t.same(outcome("/users/me"), found("users/me.ts", "/users/me"));
  t.same(outcome("/users/admin"), found("users/admin/index.ts", "/users/admin/"));
  t.same(outcome("/shop/sale/today"), found("shop/sale/today.ts", "/shop/sale/today"));
  t.same(outcome("/shop/sale/5"), found("shop/sale/[item].ts", "/shop/sale/5", { item: "5" }));
  // A static folder without a match falls back to the dynamic one beside it.
  t.same(outcome("/shop/sale/5/x"), found("shop/sale/[item].ts", "/shop/sale/5", { item: "5" }, "/x"));
  t.same(outcome("/docs/intro"), found("docs/intro.ts", "/docs/intro"));
  t.same(outcome("/docs/"), found("docs/index.ts", "/docs/"));
  // Several dynamic names in one folder: the first by name, [x] before [y], .ts before .js.
  t.same(outcome("/a/1"), found("a/[x].ts", "/a/1", { x: "1" }));
  // A literal "[id]" in the URL is a value, never the file's own name.
  t.same(outcome("/users/[id]"), found("users/[id].ts", "/users/[id]", { id: "[id]" }));
  t.same(outcome("/users/[id].ts"), found("users/[id].ts", "/users/[id].ts", { id: "[id].ts" }));
});

t.test("a [...rest] file takes every remaining segment, after everything more specific", async (t) => {
  t.same(outcome("/docs/a/b/c"), found("docs/[...path].ts", "/docs/a/b/c", { path: "a/b/c" }));
  t.same(outcome("/docs/guide"), found("docs/[...path].ts", "/docs/guide", { path: "guide" }));
  t.same(outcome("/docs/intro/more"), found("docs/[...path].ts", "/docs/intro/more", { path: "intro/more" }));
  // A catch-all beats a shorter script with PATH_INFO: it matches the whole path.
  t.same(outcome("/wiki/Main/Talk"), found("wiki/[...page].ts", "/wiki/Main/Talk", { page: "Main/Talk" }));
  t.same(outcome("/wiki"), found("wiki.ts", "/wiki"));
});

t.test("every refusal still holds through a [param]", async (t) => {
  const attacks: Array<[string, string | undefined, number]> = [
    ["/users/..", undefined, 400],
    ["/users/../../outside/secret", undefined, 400],
    ["/users/42/../../../outside/secret", undefined, 400],
    ["/users/.", undefined, 400],
    ["/docs/a/../../../outside/secret", undefined, 400],
    ["/users/../outside/secret", "/users/..%2F..%2Foutside/secret", 400],
    ["/users/x", "/users/x%2f..%2f..%2foutside", 400],
    ["/docs/a/b", "/docs/a%2Fb", 400],
    ["/users/x", "/users/x%5c..", 400],
    ["/users/x", "/users/x%00", 400],
    ["/users/x\0", undefined, 400],
    ["/users/a\\..\\..\\outside", undefined, 400],
    // A value that would name a private file is not a value: 404, as for a static name.
    ["/users/_lib", undefined, 404],
    ["/users/.env", undefined, 404],
    ["/users/node_modules", undefined, 404],
    ["/users/NODE_MODULES", undefined, 404],
    ["/docs/a/_drafts/x", undefined, 404],
    ["/docs/.git/config", undefined, 404],
    ["/docs/node_modules/pkg", undefined, 404],
    // Dynamic files inside private folders stay private.
    ["/_lib/1", undefined, 404],
    ["/node_modules/1", undefined, 404],
    // Not allow-listed, or leading out of the root through a [param] link.
    ["/p/1", undefined, 200],
    ["/notes", undefined, 404],
    ["/x/secret", undefined, 404],
    ["/users/42/anything", undefined, 200],
  ];
  for (const [path, raw, status] of attacks) {
    const got = outcome(path, raw);
    if (status === 200) t.notOk("status" in got, path);
    else t.same(got, { status }, `${JSON.stringify(path)} raw ${JSON.stringify(raw)}`);
  }
  // p/[id].json is not a script: /p/1 is p/[id].ts; the link users/[id]/[leak].ts leads out.
  t.same(outcome("/p/1"), found("p/[id].ts", "/p/1", { id: "1" }));
  t.same(outcome("/users/42/anything"), found("users/[id].ts", "/users/42", { id: "42" }, "/anything"));
});

t.test("params are a frozen object without a prototype", async (t) => {
  const r = new ScriptResolver({ root }).resolve("/users/toString");
  t.equal(Object.getPrototypeOf(r.params), null);
  t.ok(Object.isFrozen(r.params));
  t.equal(new ScriptResolver({ root }).resolve("/users/constructor").params.id, "constructor");
});
