// Builds dist/ from src/: the CLI and the package entry with esbuild (dependencies left external),
// and, where TypeScript is installed (not in a production-only install), the .d.ts files that
// give `import type { Cgi } from "tscgi"` its types in a user's project.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// worker.js and watchdog.js are started by the master (a process per worker, a thread in each);
// splitting keeps the code they share with cli.js in common chunks instead of four copies.
rmSync("dist", { recursive: true, force: true, maxRetries: 2 });
await build({
  entryPoints: {
    cli: "src/cli.ts",
    index: "src/index.ts",
    "jsx-runtime": "src/runtime/jsx-runtime.ts",
    worker: "src/pool/worker-main.ts",
    watchdog: "src/pool/watchdog.ts",
  },
  outdir: "dist",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  tsc = null;
}
if (tsc) {
  rmSync("dist/types", { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.types.json"], { stdio: "inherit" });
  // Sources import "./x.ts"; a consumer's TypeScript resolves "./x.js" to the emitted x.d.ts.
  const rewrite = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) rewrite(path);
      else if (path.endsWith(".d.ts")) {
        const text = readFileSync(path, "utf8");
        writeFileSync(path, text.replace(/(from\s+["']\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1.js$2"));
      }
    }
  };
  rewrite("dist/types");
}
