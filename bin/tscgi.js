#!/usr/bin/env node
// The tscgi command. dist/ is built from src/ by `npm run build` (run by npm install and npm start).
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("tscgi: dist/cli.js is missing; run `npm run build` in the tscgi package first\n");
  process.exit(1);
}
await import(cli.href);
