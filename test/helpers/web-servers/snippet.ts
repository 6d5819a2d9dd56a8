// A web server snippet from conf/, as users copy it, with only the values on its EDIT-marked lines
// replaced (the upstream address, the port, the paths): tests run the file the docs point to.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const confDir = fileURLToPath(new URL("../../../conf/", import.meta.url));

/** A line users change: one carrying an EDIT comment, or the first line after an `# EDIT:` comment. */
function editable(lines: string[], index: number): boolean {
  if (/#\s*EDIT\b/.test(lines[index])) return true;
  for (let i = index - 1; i >= 0; i--) {
    const previous = lines[i].trim();
    if (previous === "") continue;
    return /^#\s*EDIT:/.test(previous);
  }
  return false;
}

/**
 * `text` with each key of `values` replaced by its value. Every key must occur, and only on
 * EDIT-marked lines: a snippet change that moves a value off them fails the test loudly.
 */
export function fillSnippet(text: string, values: Record<string, string>, name = "snippet"): string {
  const lines = text.split("\n");
  for (const [from, to] of Object.entries(values)) {
    let found = 0;
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].includes(from)) continue;
      if (!editable(lines, i)) continue;
      lines[i] = lines[i].split(from).join(to);
      found++;
    }
    if (found === 0) throw new Error(`${name}: "${from}" is on no EDIT-marked line`);
  }
  return lines.join("\n");
}

/**
 * The lines where `copy` differs from `original` other than on EDIT-marked lines and in the
 * opening comment block: what a ready-made copy of a snippet (docker/nginx/) changed that it must not.
 */
export function changesBeyondEditLines(original: string, copy: string): string[] {
  const a = original.split("\n");
  const b = copy.split("\n");
  if (a.length !== b.length) return [`${b.length} lines instead of ${a.length}`];
  const header = a.findIndex((line) => !line.startsWith("#"));
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || i < header || editable(a, i)) continue;
    out.push(`line ${i + 1}: ${b[i]}`);
  }
  return out;
}

/** conf/<file> filled in; see fillSnippet. */
export function readSnippet(file: string, values: Record<string, string>): string {
  return fillSnippet(readFileSync(confDir + file, "utf8"), values, `conf/${file}`);
}
