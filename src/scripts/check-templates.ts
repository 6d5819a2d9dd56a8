// `tscgi check` for templates: every file of the templates directory compiled (Nunjucks' precompile),
// each syntax error printed as file:line:column.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";

interface Precompiler {
  precompileString(source: string, options: { name: string }): string;
}

export interface TemplateCheck {
  /** `file:line:column - template error: message`, one per template that does not compile. */
  readonly errors: readonly string[];
  readonly checkedFiles: number;
}

// Precompile's message: "(name) [Line N, Column M]\n  message"; no line for a fault at the end of the input.
const WHERE = /^\((.*)\)(?: \[Line (\d+)(?:, Column (\d+))?\])?\n\s*([\s\S]*)$/;

/** Compiles every file under `dir` (dot folders skipped) without running it; a missing `dir` has none. */
export function checkTemplates(dir: string, cwd: string): TemplateCheck {
  const files = templateFiles(dir);
  if (files.length === 0) return { errors: [], checkedFiles: 0 };
  const nunjucks = createRequire(import.meta.url)("nunjucks") as Precompiler;
  const errors: string[] = [];
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    try {
      nunjucks.precompileString(source, { name: file });
    } catch (error) {
      const match = WHERE.exec((error as Error).message);
      // At the end of the input (an unclosed block), the line is the last one.
      const line = match?.[2] ?? String(source.trimEnd().split("\n").length);
      const message = (match?.[4] ?? (error as Error).message).trim().replace(/\s*\n\s*/g, " ");
      errors.push(`${relative(cwd, file)}:${line}:${match?.[3] ?? 1} - template error: ${message}`);
    }
  }
  return { errors, checkedFiles: files.length };
}

function templateFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}
