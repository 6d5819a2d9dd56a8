// The published package: a project that installs it gets working types for `import type { Cgi } from "tscgi"`.
import t from "tap";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repo } from "./helpers/tscgi.ts";

const tsc = createRequire(join(repo, "package.json")).resolve("typescript/bin/tsc");

t.test("a script in another project type-checks against the packed package", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tscgi-consumer-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const packed = execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], {
    cwd: repo,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .pop()!;
  const pkg = join(dir, "node_modules", "tscgi");
  mkdirSync(pkg, { recursive: true });
  execFileSync("tar", ["xzf", join(dir, packed), "-C", pkg, "--strip-components", "1"]);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "site", private: true, type: "module" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        target: "ES2022",
        noEmit: true,
        lib: ["ES2022", "DOM"],
        types: [],
        // JSX with tscgi's runtime: a site's tsconfig names it, and component props are checked.
        jsx: "react-jsx",
        jsxImportSource: "tscgi",
      },
      include: ["cgi-bin"],
    }),
  );
  mkdirSync(join(dir, "cgi-bin"));
  writeFileSync(
    join(dir, "cgi-bin/hello.ts"),
    'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => `Hello, ${cgi.query.get("name") ?? cgi.env.REQUEST_METHOD}`;\n',
  );
  writeFileSync(
    join(dir, "cgi-bin/page.tsx"),
    'import type { Cgi } from "tscgi";\nconst Hi = (p: { name: string }) => <b>{p.name}</b>;\nexport default (cgi: Cgi) => <main class="x"><Hi name={cgi.env.REQUEST_METHOD ?? ""} /></main>;\n',
  );
  const ok = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
  t.equal(ok.status, 0, ok.stdout + ok.stderr);
  writeFileSync(
    join(dir, "cgi-bin/wrong-prop.tsx"),
    "const Hi = (p: { name: string }) => <b>{p.name}</b>;\nexport default () => <Hi name={42} />;\n",
  );
  writeFileSync(join(dir, "cgi-bin/bad.ts"), 'import type { Cgi } from "tscgi";\nexport default (cgi: Cgi) => cgi.status("200");\n');
  const bad = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8" });
  t.equal(bad.status, 2, "a wrong call is a type error");
  t.match(bad.stdout, /bad\.ts.*TS2345/);
  t.match(bad.stdout, /wrong-prop\.tsx.*TS2322/, "a wrong prop is a type error");
});
