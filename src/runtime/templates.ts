// Templates as the runtime sees them: the renderer cgi.render() reaches through an interface, and the
// rule a template name obeys before any file is looked up.
import { TscgiError } from "../errors.ts";

/** Renders a template of the templates directory; the server builds it (src/server/templates.ts). */
export interface TemplateRenderer {
  /**
   * The template `name` (already checked by checkTemplateName) rendered with `data`, every value
   * escaped unless marked safe. Throws a coded error naming the template file and line.
   */
  render(name: string, data: Record<string, unknown>): string;
  /** Stops watching the templates directory. */
  close(): void;
}

export class TemplateNameError extends TscgiError {
  readonly code = "TSCGI_E_API_TEMPLATE_NAME";
  constructor(name: string, fault: string) {
    super(
      `template name ${JSON.stringify(name.slice(0, 200))} is refused: ${fault}; ` +
        `name a file below the templates directory with / between folders, like "page.njk" or "partials/nav.njk"`,
    );
  }
}

/**
 * Throws TemplateNameError unless `name` is a relative path that stays below the templates
 * directory: no absolute path, no "." or ".." or empty segment, no backslash, no NUL. As in
 * Jinja2, a name is always from the top of the directory, never relative to another template.
 */
export function checkTemplateName(name: unknown): string {
  if (typeof name !== "string") throw new TemplateNameError(String(name), "it is not a string");
  if (name === "") throw new TemplateNameError(name, "it is empty");
  if (name.includes("\0")) throw new TemplateNameError(name, "it contains a NUL byte");
  if (name.includes("\\")) throw new TemplateNameError(name, "it contains a backslash");
  if (name.startsWith("/")) throw new TemplateNameError(name, "it is an absolute path");
  for (const segment of name.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new TemplateNameError(name, segment === "" ? "it has an empty segment" : `it contains a ${JSON.stringify(segment)} segment`);
    }
  }
  return name;
}
