// conf/apache-authorizer.conf in a real Apache httpd (mod_authnz_fcgi) in front of tscgi: the
// FastCGI AUTHORIZER role runs the URL's script's `authorize` export, which lets a request
// through with its variables, or answers the client itself.
import t from "tap";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apacheAuthorizerMissing, startApacheAuthorizerSite } from "../helpers/web-servers/apache-authorizer.ts";
import { startTscgi } from "../helpers/tscgi.ts";

const missing = apacheAuthorizerMissing();
if (!missing) t.setTimeout(300_000);

const ADMIN = `import type { Cgi } from "tscgi";
export function authorize(cgi: Cgi) {
  const token = cgi.env.HTTP_X_TOKEN;
  if (token === "alice") return { REMOTE_USER: "alice", TEAM: "ops" };
  if (token === "blocked") return false;
  return new Response("who are you?", { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="admin"' } });
}
export default function (cgi: Cgi) {
  return { user: cgi.env.REMOTE_USER ?? null, team: cgi.env.TEAM ?? null, path: cgi.env.PATH_INFO };
}
`;
const NO_AUTHORIZE = `export default () => "never without a decision";\n`;

t.test("authorize decides under /admin/; its variables reach the request", { skip: missing }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "tscgi-authz-root-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "admin"));
  writeFileSync(join(root, "admin", "users.ts"), ADMIN);
  writeFileSync(join(root, "admin", "open.ts"), NO_AUTHORIZE);
  writeFileSync(join(root, "hello.ts"), 'export default () => "hello";\n');
  const tscgi = await startTscgi(["--root", root, "--workers", "1", "--shutdown-timeout", "2s"]);
  t.teardown(() => tscgi.stop());
  const apache = await startApacheAuthorizerSite(`127.0.0.1:${tscgi.fastcgiPort}`);
  t.teardown(() => apache.stop());
  const get = (path: string, token?: string) =>
    fetch(`${apache.url}${path}`, { headers: token ? { "X-Token": token } : {}, signal: AbortSignal.timeout(30_000) });

  const allowed = await get("/admin/users/42", "alice");
  t.equal(allowed.status, 200, "authorized", { logs: apache.logs() });
  t.same(await allowed.json(), { user: "alice", team: "ops", path: "/42" }, "REMOTE_USER and TEAM set from Variable-* headers");

  const anonymous = await get("/admin/users/42");
  t.equal(anonymous.status, 401, "authorize's own answer goes to the client");
  t.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="admin"');
  await anonymous.arrayBuffer();

  const blocked = await get("/admin/users/42", "blocked");
  t.equal(blocked.status, 403, "false denies: 403");
  await blocked.arrayBuffer();

  const undecided = await get("/admin/open", "alice");
  t.not(undecided.status, 200, "no authorize export: denied");
  t.notMatch(await undecided.text(), /never without a decision/);
  await tscgi.waitFor("TSCGI_E_SERVER_AUTHORIZE_EXPORT");

  t.equal(await (await get("/hello")).text(), "hello", "outside /admin/ nothing is asked");
  t.match(tscgi.output(), /"GET \/admin\/users\/42" 200 [\d.]+ms "admin\/users.ts"/, "the authorizer request in the access log");
});
