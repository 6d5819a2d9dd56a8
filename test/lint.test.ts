// The linter (typescript-eslint, type-checked) finds no error, and knip no unused file, export or dependency.
import t from "tap";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { repo } from "./helpers/tscgi.ts";

// Type-checked linting reads the whole project: a minute alone, several on a busy machine.
const TOOL_TIMEOUT = 10 * 60_000;
t.setTimeout(TOOL_TIMEOUT + 60_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool from node_modules with this Node, in the repository, to its exit. */
function run(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repo, "node_modules", script), ...args], { cwd: repo, timeout: TOOL_TIMEOUT });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface LintResult {
  filePath: string;
  errorCount: number;
  warningCount: number;
  messages: { line: number; column: number; severity: number; ruleId: string | null; message: string }[];
}

t.test("eslint: no error", async (t) => {
  const { stdout, stderr } = await run("eslint/bin/eslint.js", ["--format", "json", "."]);
  let results: LintResult[];
  try {
    results = JSON.parse(stdout) as LintResult[];
  } catch {
    t.fail(`eslint gave no report: ${stderr.slice(0, 2000)}`);
    return;
  }
  const errors = results.flatMap((r) =>
    r.messages
      .filter((m) => m.severity === 2)
      .map((m) => `${r.filePath.slice(repo.length + 1)}:${m.line}:${m.column} ${m.ruleId ?? ""} ${m.message}`),
  );
  const warnings = results.reduce((sum, r) => sum + r.warningCount, 0);
  t.comment(`eslint: ${results.length} files, ${errors.length} errors, ${warnings} warnings`);
  t.same(errors, [], "eslint errors (run `npx eslint .`)");
});

t.test("knip: no unused file, export or dependency", async (t) => {
  const { code, stdout, stderr } = await run("knip/bin/knip.js", ["--no-progress"]);
  t.equal(code, 0, `knip found:\n${stdout}${stderr}`);
});
