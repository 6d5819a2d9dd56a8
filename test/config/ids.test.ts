// listen_owner / listen_group names: looked up in passwd(5) and group(5) files.

import t from "tap";
import { findId, parseIdOrName, resolveId } from "../../src/config/ids.ts";
import { ValueRejected } from "../../src/config/errors.ts";

const passwd = [
  "root:x:0:0:root:/root:/bin/bash",
  "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
  "# a comment line",
  "broken:x:notanumber:1::/:/bin/sh",
  "short",
  "tscgi:x:999:999::/srv:/usr/sbin/nologin",
  "",
].join("\n");

t.test("findId reads the third field of the line naming the user or group", async (t) => {
  t.equal(findId(passwd, "root"), 0);
  t.equal(findId(passwd, "www-data"), 33);
  t.equal(findId(passwd, "tscgi"), 999);
  t.equal(findId(passwd, "nobody"), null);
  t.equal(findId(passwd, "broken"), null, "a line without a numeric id is no match");
  t.equal(findId(passwd, "short"), null);
  t.equal(findId(passwd, "www"), null, "whole names only");
  t.equal(findId(passwd, ""), null);
});

t.test("resolveId looks names up in the file, passes ids and null through", async (t) => {
  const dir = t.testdir({ passwd, group: "staff:x:50:alice,bob\n" });
  t.equal(resolveId("www-data", `${dir}/passwd`, "user"), 33);
  t.equal(resolveId("staff", `${dir}/group`, "group"), 50);
  t.equal(resolveId(1234, `${dir}/passwd`, "user"), 1234, "an id is not looked up");
  t.equal(resolveId(null, `${dir}/missing`, "user"), null);
  t.throws(() => resolveId("alice", `${dir}/group`, "group"), { name: "ValueRejected", detail: `no group named alice in ${dir}/group` });
  t.throws(() => resolveId("x", `${dir}/missing`, "user"), {
    name: "ValueRejected",
    detail: `${dir}/missing cannot be read to look up the user x; give its numeric id`,
  });
});

t.test("parseIdOrName keeps ids as numbers and names as text", async (t) => {
  t.equal(parseIdOrName("0"), 0);
  t.equal(parseIdOrName("007"), 7);
  t.equal(parseIdOrName("nginx"), "nginx");
  t.equal(parseIdOrName(""), null);
  t.throws(() => parseIdOrName("a b"), ValueRejected);
});
