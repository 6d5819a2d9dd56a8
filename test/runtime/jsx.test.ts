// JSX to HTML with tscgi's own runtime: escaped by default, markup from html`` kept, components and fragments.
import t from "tap";
import { html, isHtml, unsafeHtml } from "../../src/runtime/html.ts";
import { Fragment, jsx, jsxs } from "../../src/runtime/jsx.ts";

t.test("text and attribute values are escaped; markup is kept", async (t) => {
  const evil = `<script>alert("x")</script>`;
  const el = jsx("p", { title: `" onmouseover="alert(1)`, children: evil });
  t.ok(isHtml(el));
  t.equal(String(el), `<p title="&quot; onmouseover=&quot;alert(1)">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>`);
  t.equal(String(jsx("div", { children: html`<b>${evil}</b>` })), "<div><b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</b></div>");
  t.equal(String(jsx("div", { children: unsafeHtml("<svg/>") })), "<div><svg/></div>");
  // JSX inside html`` is markup too.
  t.equal(String(html`<main>${jsx("i", { children: "a&b" })}</main>`), "<main><i>a&amp;b</i></main>");
});

t.test("attributes: booleans, className/htmlFor, style objects, handlers and nulls", async (t) => {
  const el = jsx("input", {
    className: "a",
    htmlFor: "f",
    disabled: true,
    checked: false,
    value: 0,
    onClick: () => 1,
    x: null,
    y: undefined,
  });
  t.equal(String(el), `<input class="a" for="f" disabled value="0">`);
  t.equal(String(jsx("span", { style: { fontSize: "12px", "--gap": 2, color: null } })), `<span style="font-size: 12px; --gap: 2"></span>`);
  t.equal(String(jsx("br", { children: "ignored" })), "<br>");
});

t.test("children: lists, numbers, nothing; fragments and components", async (t) => {
  const rows = ["a", "<b>"].map((r) => jsx("li", { children: r }, r));
  t.equal(String(jsxs("ul", { children: [rows, 1, 2n, null, undefined, false, true] })), "<ul><li>a</li><li>&lt;b&gt;</li>12</ul>");
  t.equal(String(jsxs(Fragment, { children: [jsx("b", {}), "&"] })), "<b></b>&amp;");
  const Greeting = (props: { name: string }) => jsx("h1", { children: ["Hello, ", props.name] });
  t.equal(String(jsx(Greeting, { name: "<Ada>" })), "<h1>Hello, &lt;Ada&gt;</h1>");
  const Text = () => "<plain>";
  t.equal(String(jsx(Text, {})), "&lt;plain&gt;", "a component's string is text, escaped");
});

t.test("names that could break out of a tag are refused", async (t) => {
  t.throws(() => jsx("p", { 'x"><script>': "1" }), /not an attribute name/);
  t.throws(() => jsx("p", { "a b": "1" }), /not an attribute name/);
  t.throws(() => jsx("img src=x onerror=alert(1)", {}), /not an element name/);
  t.throws(() => jsx("p", { dangerouslySetInnerHTML: { __html: "<x>" } }), /unsafeHtml/);
});
