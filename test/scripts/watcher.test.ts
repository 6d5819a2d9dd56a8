// DirectoryWatcher: one inotify watch per directory of the tree, following new and removed directories.

import t from "tap";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { DirectoryWatcher } from "../../src/scripts/watcher.ts";
import { scaled } from "../helpers/time.ts";
import { makeTree } from "./fixtures/tree.ts";

t.test("the tree is watched, new directories too, removed ones forgotten", async (t) => {
  const tree = makeTree("watcher", {
    "root/a/b/x.ts": "",
    "root/node_modules/pkg/index.js": "",
    "root/.git/config": "",
    "outside/y.ts": "",
  });
  symlinkSync("../outside", tree.path("root/link"));
  const changes: string[] = [];
  let notify = () => {};
  const watcher = new DirectoryWatcher((path) => {
    changes.push(path);
    notify();
  });
  t.teardown(() => {
    watcher.close();
    tree.remove();
  });
  const next = (path: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event for ${path}`)), scaled(30_000));
      notify = () => {
        if (changes.includes(path)) {
          clearTimeout(timer);
          resolve();
        }
      };
    });

  watcher.watchTree(tree.path("root"));
  t.equal(watcher.size, 3, "root, a and a/b; not node_modules, .git or a link");
  t.ok(watcher.watches(tree.path("root/a/b")));
  t.notOk(watcher.watches(tree.path("root/node_modules")));
  t.notOk(watcher.watches(tree.path("root/.git")));
  t.notOk(watcher.watches(tree.path("root/link")));

  let seen = next(tree.path("root/new"));
  mkdirSync(tree.path("root/new/deeper"), { recursive: true });
  await seen;
  t.ok(watcher.watches(tree.path("root/new/deeper")), "a new directory and the ones made inside it");

  seen = next(tree.path("root/new/deeper/z.ts"));
  tree.write({ "root/new/deeper/z.ts": "" });
  await seen;
  t.pass("a file written in the new directory is reported");

  seen = next(tree.path("root/a"));
  rmSync(tree.path("root/a"), { recursive: true });
  await seen;
  t.notOk(watcher.watches(tree.path("root/a")), "a removed directory is forgotten");
  t.notOk(watcher.watches(tree.path("root/a/b")));

  watcher.watchDirectory(tree.path("outside"));
  t.ok(watcher.watches(tree.path("outside")), "a single directory");
  watcher.close();
  t.equal(watcher.size, 0);
  watcher.watchTree(tree.path("root"));
  t.equal(watcher.size, 0, "nothing is watched after close");
});
