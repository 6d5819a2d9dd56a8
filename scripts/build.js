// Builds dist/ from src/ with esbuild: the CLI and the package entry, dependencies left external.
import { build } from "esbuild";

await build({
  entryPoints: { cli: "src/cli.ts", index: "src/index.ts" },
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
