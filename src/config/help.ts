// The --help screen, written from the schema so every flag, default and meaning is listed.

import { extraFlags } from "./flags.ts";
import { configKeys, envName, flagName, schema, shownDefault } from "./schema.ts";

/** Where descriptions start, and where lines wrap: an 80-column terminal. */
const COLUMN = 32;
const WIDTH = 80;

/** `left`, then `text` from COLUMN on, wrapped at WIDTH; a long `left` gets a line of its own. */
function row(left: string, text: string): string {
  const indent = " ".repeat(COLUMN);
  const lines = [left.length + 2 <= COLUMN ? left.padEnd(COLUMN) : left + "\n" + indent];
  for (const word of text.split(" ")) {
    const current = lines.at(-1)!;
    const lineLength = current.length - current.lastIndexOf("\n") - 1;
    if (lineLength > COLUMN && lineLength + 1 + word.length > WIDTH) lines.push(indent + word);
    else lines[lines.length - 1] = lineLength > COLUMN ? `${current} ${word}` : current + word;
  }
  return lines.join("\n");
}

export function helpText(): string {
  const lines = [
    "tscgi: a FastCGI application server for TypeScript scripts",
    "",
    "Usage:",
    row("  tscgi [serve] [options]", "serve the scripts under --root over FastCGI"),
    row(
      "  tscgi cgi [FILE]",
      "run one request the classic CGI way (Apache mod_cgi): env and stdin in, response out; without FILE the script is found from the URL under --root",
    ),
    row(
      "  tscgi ping [--timeout 5s] [--ready]",
      "health check: GET ping_path over FastCGI (status_listen when set); exit 0 when it answers; --ready: readiness",
    ),
    row("  tscgi status [--json] [--full]", "print the status page, read over FastCGI (docs/status.md)"),
    row(
      "  tscgi init DIR [TSCGI]",
      "create a site in DIR (package.json depending on TSCGI, this installation by default, or a tarball from npm pack; tsconfig.json, cgi-bin/, templates/, conf/, README)",
    ),
    row("  tscgi routes", "print the URL -> script table of --root and its conflicts, then exit"),
    row(
      "  tscgi check",
      "type-check the scripts under --root against tscgi's types (needs typescript), compile the templates, report route conflicts and files never served; exits 1 on errors",
    ),
    row("  tscgi -t | --test-config", "check the configuration and the files it names, then exit"),
    row("  tscgi help | version", "the same as --help | --version"),
    "",
    "Options:",
  ];
  for (const flag of extraFlags) {
    const left = `  -${flag.alias}, --${flag.name}${flag.metavar === null ? "" : ` ${flag.metavar}`}`;
    lines.push(row(left, flag.description));
  }
  for (const key of configKeys) {
    const def = schema[key];
    lines.push(row(`      ${flagName(key)} ${def.metavar}`, `${def.description} (default: ${shownDefault(key)})`));
  }
  lines.push(
    "",
    "Every option is also a config file key (--max-body-size is max_body_size) and an",
    `environment variable (${envName("max_body_size")}). Flags override the environment,`,
    "which overrides the config file, which overrides the defaults.",
    "Sizes: 1048576, 512k, 64m, 1g (0 = unlimited where allowed).",
    "Durations: 500ms, 30s, 2m, 1h; a bare number is seconds.",
    "Reference: docs/config.md.",
  );
  return lines.join("\n") + "\n";
}
