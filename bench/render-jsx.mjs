// Renders a 1,000-row table with JSX (tscgi/jsx-runtime) and with html``, and prints the time per page of each.
// Run after `npm run build`: node bench/render-jsx.mjs
import { Fragment, jsx, jsxs } from "../dist/jsx-runtime.js";
import { html } from "../dist/index.js";

const ROWS = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `user <${i}> & "friends"`, email: `u${i}@example.com` }));
const PAGES = 2000;

// What esbuild's automatic runtime emits for the equivalent .tsx.
const Row = (props) =>
  jsxs("tr", {
    children: [jsx("td", { children: props.id }), jsx("td", { children: props.name }), jsx("td", { class: "mail", children: props.email })],
  });
const jsxPage = () => jsx(Fragment, { children: jsx("table", { children: ROWS.map((r) => jsx(Row, { ...r }, r.id)) }) });
// prettier-ignore
const htmlPage = () => html`<table>${ROWS.map((r) => html`<tr><td>${r.id}</td><td>${r.name}</td><td class="mail">${r.email}</td></tr>`)}</table>`;

if (String(jsxPage()) !== String(htmlPage()))
  throw new Error(`the two renderings differ:\n${String(jsxPage()).slice(0, 300)}\n${String(htmlPage()).slice(0, 300)}`);

function measure(name, render) {
  for (let i = 0; i < 200; i++) render();
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < PAGES; i++) bytes += String(render()).length;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { name, perPageMs: ms / PAGES, pagesPerSecond: Math.round((PAGES / ms) * 1000), bytes: bytes / PAGES };
}

const results = [measure("html``", htmlPage), measure("JSX", jsxPage), measure("html``", htmlPage), measure("JSX", jsxPage)];
for (const r of results)
  console.log(`${r.name.padEnd(7)} ${r.perPageMs.toFixed(3)} ms/page  ${r.pagesPerSecond} pages/s  (${r.bytes} bytes)`);
