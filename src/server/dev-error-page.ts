// The development error page (display_errors = yes), PHP's display_errors made readable: the
// error, the TypeScript file:line with an excerpt of the source, the stack and the request, all
// escaped. Never shown with display_errors off: it tells a visitor how the site is built.
import { readFileSync, statSync } from "node:fs";
import { relative } from "node:path";
import { isTscgiError } from "../errors.ts";
import { escapeHtml } from "../runtime/html.ts";
import { scriptLocation } from "./script-error.ts";

/** Lines shown before and after the failing one. */
const CONTEXT_LINES = 4;
/** A source file larger than this is not read for an excerpt (a generated bundle, say). */
const MAX_SOURCE_BYTES = 2 * 1024 * 1024;

interface Where {
  file: string;
  line: number;
  column: number;
}

/** Where the error happened: a compile or template error says so itself; anything else by its first stack frame in the root. */
function locate(error: unknown, root: string): Where | null {
  if (isTscgiError(error) && (error.code === "TSCGI_E_SCRIPT_COMPILE" || error.code === "TSCGI_E_SERVER_TEMPLATE")) {
    const { file, line, column } = error as unknown as Where;
    if (typeof file === "string" && typeof line === "number") return { file, line, column };
  }
  return scriptLocation(error, root);
}

/** The source lines around `where`, the failing one marked and a caret under its column. */
function excerpt(where: Where): string | null {
  let source: string;
  try {
    if (statSync(where.file).size > MAX_SOURCE_BYTES) return null;
    source = readFileSync(where.file, "utf8");
  } catch {
    return null;
  }
  const lines = source.split(/\r?\n/);
  const first = Math.max(1, where.line - CONTEXT_LINES);
  const last = Math.min(lines.length, where.line + CONTEXT_LINES);
  const width = String(last).length;
  let out = "";
  for (let n = first; n <= last; n++) {
    const text = lines[n - 1] ?? "";
    const number = String(n).padStart(width);
    if (n === where.line) {
      out += `<b>${number} &gt; ${escapeHtml(text)}</b>\n`;
      out += `${" ".repeat(width + 3 + Math.max(0, where.column - 1))}^\n`;
    } else {
      out += `${number}   ${escapeHtml(text)}\n`;
    }
  }
  return out;
}

function describe(error: unknown): { title: string; message: string; stack: string } {
  if (!(error instanceof Error)) return { title: "non-error thrown", message: String(error), stack: "" };
  const code = isTscgiError(error) ? ` [${error.code}]` : "";
  let stack = error.stack ?? "";
  // The stack starts with "Name: message", shown above it already.
  const firstFrame = stack.indexOf("\n    at ");
  stack = firstFrame === -1 ? "" : stack.slice(firstFrame + 1);
  for (let cause = error.cause, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth++) {
    stack += `\ncaused by ${cause.name}: ${cause.message}`;
  }
  return { title: `${error.name}${code}`, message: error.message, stack };
}

/** The page, as UTF-8 HTML. `params`: the request's CGI variables. */
export function developmentPage(error: unknown, params: Record<string, string>, root: string, status: number): Buffer {
  const { title, message, stack } = describe(error);
  const where = locate(error, root);
  const shown = where === null ? null : `${relative(process.cwd(), where.file)}:${where.line}:${where.column}`;
  const source = where === null ? null : excerpt(where);
  const rows = Object.keys(params)
    .sort()
    .map((key) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(params[key] ?? "")}</td></tr>`)
    .join("");
  const request = `${params.REQUEST_METHOD ?? "-"} ${params.REQUEST_URI ?? params.DOCUMENT_URI ?? "-"}`;
  const html =
    `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="robots" content="noindex">` +
    `<title>${status} ${escapeHtml(title)}</title>` +
    "<style>body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222}pre{background:#f6f6f6;padding:1em;overflow:auto}" +
    "pre b{background:#fdd;display:inline-block;min-width:100%}th{text-align:left;padding-right:1em;vertical-align:top}" +
    "td{font-family:monospace;word-break:break-all}.where{font-family:monospace;font-size:1.1em}footer{margin-top:2em;color:#777}</style>" +
    `<h1>${escapeHtml(title)}</h1>` +
    `<pre>${escapeHtml(message)}</pre>` +
    (shown === null ? "" : `<p class="where">${escapeHtml(shown)}</p>`) +
    (source === null ? "" : `<pre>${source}</pre>`) +
    (stack === "" ? "" : `<h2>Stack</h2><pre>${escapeHtml(stack)}</pre>`) +
    `<h2>Request</h2><p>${escapeHtml(request)}</p><table>${rows}</table>` +
    `<footer>tscgi development page: display_errors is on. Turn it off on a public server.</footer></html>\n`;
  return Buffer.from(html);
}
