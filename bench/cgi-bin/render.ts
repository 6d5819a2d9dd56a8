// The benchmark's template page: 20 rows from an array rendered by a page template that extends a
// layout (cgi.render, Nunjucks, autoescape), as bench/php/render.php does with a PHP template.
import type { Cgi } from "tscgi";

const ROWS = 20;

export default function (cgi: Cgi) {
  const rows = [];
  for (let i = 1; i <= ROWS; i++)
    rows.push({ id: i, name: `User ${i} <${i}@example.com>`, city: i % 2 ? "Zürich & Bern" : "Lyon", score: i * 7 });
  return cgi.render("page.njk", { title: "Users & scores", rows });
}
