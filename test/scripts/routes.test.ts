// The route table: URL -> script for every script, and each file that loses its URL to another reported.

import t from "tap";
import { spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { routeTable } from "../../src/scripts/routes.ts";
import { bin, startTscgi } from "../helpers/tscgi.ts";
import { makeTree } from "./fixtures/tree.ts";

const script = "export default () => 'hi';\n";
const clean = makeTree("routes-clean", {
  "index.ts": script,
  "hello.ts": script,
  "admin/index.ts": script,
  "admin/users.ts": script,
  "users/[id].ts": script,
  "users/me.ts": script,
  "users/[id]/posts.tsx": script,
  "docs/[...path].ts": script,
  "_lib/db.ts": script,
  "data.json": "{}",
});
const clashing = makeTree("routes-clash", {
  "page.ts": script,
  "page.js": script,
  "shop.ts": script,
  "shop/index.ts": script,
  "users/[id].ts": script,
  "users/[slug].ts": script,
  "[bad-name].ts": script,
});
t.teardown(() => {
  clean.remove();
  clashing.remove();
});
symlinkSync("hello.ts", join(clean.dir, "alias.ts"));

t.test("every script with the URL that reaches it, sorted, private and foreign files left out", async (t) => {
  const table = routeTable({ root: clean.dir });
  t.same(table.conflicts, []);
  t.same(
    table.routes.map((r) => `${r.url} ${r.file}`),
    [
      "/ index.ts",
      "/admin/ admin/index.ts",
      "/admin/users admin/users.ts",
      "/alias alias.ts",
      "/docs/[...path] docs/[...path].ts",
      "/hello hello.ts",
      "/users/[id] users/[id].ts",
      "/users/[id]/posts users/[id]/posts.tsx",
      "/users/me users/me.ts",
    ],
  );
  t.equal(routeTable({ root: clean.dir, mount: "/app" }).routes[0].url, "/app/");
});

t.test("files that lose their URL to another are conflicts, naming the winner", async (t) => {
  const conflicts = routeTable({ root: clashing.dir }).conflicts.map((c) => `${c.file} ${c.url} ${c.winner ?? "-"}`);
  t.same(conflicts, [
    "[bad-name].ts /[bad-name] -",
    "page.js /page page.ts",
    "shop.ts /shop shop/index.ts",
    "users/[slug].ts /users/[slug] users/[id].ts",
  ]);
});

t.test("`tscgi routes` prints the table and the conflicts", async (t) => {
  const ok = spawnSync(process.execPath, [bin, "routes", "--root", clean.dir], { encoding: "utf8" });
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, /^URL\s+SCRIPT\n/);
  t.match(ok.stdout, /\n\/users\/\[id\]\s+users\/\[id\]\.ts\n/);
  t.notMatch(ok.stdout, /conflict/);
  const clash = spawnSync(process.execPath, [bin, "routes", "--root", clashing.dir], { encoding: "utf8" });
  t.match(clash.stdout, /4 conflict\(s\):\n/);
  t.match(clash.stdout, /route conflict: users\/\[slug\]\.ts never answers \/users\/\[slug\]: users\/\[id\]\.ts answers it/);
});

t.test("conflicts are logged when the server starts", async (t) => {
  for (const workers of ["0", "1"]) {
    const tscgi = await startTscgi(["--root", clashing.dir, "--workers", workers]);
    t.teardown(() => tscgi.stop());
    await tscgi.waitFor(/listening on fastcgi/);
    await tscgi.waitFor(/route conflict: shop\.ts never answers \/shop: shop\/index\.ts answers it/);
    await tscgi.stop();
  }
});
