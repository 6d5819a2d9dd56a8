// `tscgi init DIR`: a new site to start from: package.json, tsconfig.json, cgi-bin/, conf/ and a README.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface InitOptions {
  /** The directory to create the site in: new, or empty. */
  dir: string;
  /** What the site's package.json depends on for tscgi: this installation's directory by default. */
  from?: string;
}

/** The tscgi package's own directory: the one holding its package.json, above dist/ or src/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("tscgi init: cannot find tscgi's own package.json");
    dir = up;
  }
  return dir;
}

/** Writes the site; answers the files written, relative to it. Refuses a directory that has files. */
export function initSite(options: InitOptions): string[] {
  const dir = resolve(options.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`tscgi init: ${options.dir} is not empty; name a new or empty directory`);
  }
  const source = options.from ?? packageRoot();
  // A path to the checkout (or a tarball made by npm pack), relative so the site can move with it.
  const spec = /^[a-z]+:/i.test(source) ? source : "file:" + (relative(dir, resolve(source)) || ".");
  const name =
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, "-") || "site";
  const files: Record<string, string> = {
    "package.json":
      JSON.stringify(
        {
          name,
          private: true,
          type: "module",
          scripts: { start: "tscgi serve", check: "tscgi check", routes: "tscgi routes" },
          // A path, not a registry version: npm links the checkout, whose own node_modules serve its
          // dependencies, so the install works offline. TypeScript for `npm run check` is the checkout's.
          dependencies: { tscgi: spec },
        },
        null,
        2,
      ) + "\n",
    ".gitignore": "node_modules/\n",
    "tsconfig.json":
      JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            allowImportingTsExtensions: true,
            noEmit: true,
            skipLibCheck: true,
            jsx: "react-jsx",
            jsxImportSource: "tscgi",
            lib: ["ES2022", "DOM", "DOM.Iterable"],
            types: [],
          },
          include: ["cgi-bin"],
        },
        null,
        2,
      ) + "\n",
    "cgi-bin/index.ts": [
      "// GET / : edit and reload, no restart needed.",
      'import { html, type Cgi } from "tscgi";',
      "",
      "export default function (cgi: Cgi) {",
      '  const name = cgi.query.get("name") ?? "world";',
      "  return html`<h1>Hello, ${name}</h1>`;",
      "}",
      "",
    ].join("\n"),
    "cgi-bin/_lib/.keep": "",
    "public/.keep": "",
    "conf/tscgi.conf": [
      "; tscgi's configuration for this site; every key: node_modules/tscgi/docs/config.md, or `npx tscgi --help`.",
      "; Paths are relative to the directory tscgi starts in (this site's, with npm start).",
      "root = cgi-bin",
      "listen = 127.0.0.1:9000",
      "; The embedded HTTP front, for development; remove it behind nginx.",
      "http = 127.0.0.1:8080",
      "",
    ].join("\n"),
    "conf/nginx.conf": nginxConf(join(dir, "public")),
    "README.md": readme(name),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return Object.keys(files);
}

/** tscgi's nginx snippet with this site's static directory filled in. */
function nginxConf(publicDir: string): string {
  const snippet = readFileSync(join(packageRoot(), "conf", "nginx.conf"), "utf8");
  return snippet.replace(/root \/srv\/www\/public;/, `root ${publicDir};`);
}

function readme(name: string): string {
  return `# ${name}

A site served by tscgi: each file in \`cgi-bin/\` answers a URL (\`cgi-bin/index.ts\` answers \`/\`).

\`\`\`sh
npm install
npm start          # http://127.0.0.1:8080/ (and FastCGI on 127.0.0.1:9000 for nginx)
\`\`\`

Edit \`cgi-bin/index.ts\` and reload the page: no build step, no restart. Modules that scripts
import go in \`cgi-bin/_lib/\` (never served); static files in \`public/\`, served by nginx.

- \`npm run check\`: type errors, route conflicts and files that are never served (with the
  TypeScript installed beside tscgi, or the site's own after \`npm install --save-dev typescript\`).
- \`npm run routes\`: which URL runs which script.
- \`conf/tscgi.conf\`: tscgi's settings; \`conf/nginx.conf\`: a server block for nginx, filled in
  for this directory.

## Into an existing project

tscgi is not on a registry: install it from a clone (\`npm install ../path/to/tscgi\`) or from a
tarball made there with \`npm pack\` (\`npm install ../tscgi-0.1.0.tgz\`). Put scripts in
\`cgi-bin/\` next to your \`package.json\`, so they import your packages, and start it with
\`npx tscgi --http 127.0.0.1:8080\`.
`;
}
