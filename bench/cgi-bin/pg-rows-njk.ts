// The benchmark's database page as pg-rows.ts, rendered by a Nunjucks template (bench/templates/pg-rows.njk) instead of `html`.
import type { Cgi } from "tscgi";
import { rows20 } from "./_lib/pg-rows.ts";

export default async function (cgi: Cgi) {
  return cgi.render("pg-rows.njk", { rows: await rows20() });
}
