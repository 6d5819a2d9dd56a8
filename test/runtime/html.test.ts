// The html template escapes what a visitor sends and keeps what the script wrote.
// Prettier formats html`` templates as HTML (self-closing tags, new lines), which would change
// the very strings under test: those statements are marked prettier-ignore.
import t from "tap";
import { escapeHtml, html, isHtml, unsafeHtml } from "../../src/runtime/html.ts";

t.test("a <script> in a value comes out as text", async (t) => {
  const name = "<script>alert(1)</script>";
  t.equal(String(html`<p>Hello, ${name}</p>`), "<p>Hello, &lt;script&gt;alert(1)&lt;/script&gt;</p>");
});

t.test("quotes cannot end a quoted attribute", async (t) => {
  const evil = `" onmouseover="alert(1)`;
  // prettier-ignore
  t.equal(String(html`<input value="${evil}">`), '<input value="&quot; onmouseover=&quot;alert(1)">');
  const single = `' autofocus onfocus='alert(1)`;
  // prettier-ignore
  t.equal(String(html`<input value='${single}'>`), "<input value='&#39; autofocus onfocus=&#39;alert(1)'>");
});

t.test("escapeHtml escapes & < > \" ' and nothing else", async (t) => {
  t.equal(escapeHtml(`a & b < c > d " e ' f`), "a &amp; b &lt; c &gt; d &quot; e &#39; f");
  t.equal(escapeHtml("&amp;"), "&amp;amp;", "already-escaped text is escaped again, as htmlspecialchars does");
  t.equal(escapeHtml("plain text, é ✓"), "plain text, é ✓");
  t.equal(escapeHtml(""), "");
});

t.test("nested templates and arrays of them are kept as markup", async (t) => {
  const items = ["<b>", "ok"];
  // prettier-ignore
  const list = html`<ul>${items.map((item) => html`<li>${item}</li>`)}</ul>`;
  t.equal(String(list), "<ul><li>&lt;b&gt;</li><li>ok</li></ul>");
  const page = html`<main>${list}</main>`;
  t.equal(String(page), "<main><ul><li>&lt;b&gt;</li><li>ok</li></ul></main>");
  // prettier-ignore
  t.equal(String(html`${[["<i>", html`<i>`]]}`), "&lt;i&gt;<i>", "nested arrays: strings escaped, markup kept");
  t.equal(String(html`${new Set(["<", "b"])}`), "&lt;b", "any iterable");
});

t.test("null, undefined and booleans render as nothing; numbers as text", async (t) => {
  const loggedIn = false;
  t.equal(String(html`[${null}${undefined}${false}${true}]`), "[]");
  t.equal(String(html`${loggedIn && html`<a>out</a>`}`), "");
  t.equal(String(html`${0} ${-1.5} ${10n}`), "0 -1.5 10");
});

t.test("other objects are escaped as their text", async (t) => {
  const shout = { toString: () => "<b>hi</b>" };
  t.equal(String(html`${shout as unknown as string}`), "&lt;b&gt;hi&lt;/b&gt;");
});

t.test("a look-alike object is not markup", async (t) => {
  const fake = { toString: () => "<img src=x onerror=alert(1)>", __html: "<img>" };
  t.notOk(isHtml(fake));
  t.equal(String(html`${fake as unknown as string}`), "&lt;img src=x onerror=alert(1)&gt;");
});

t.test("unsafeHtml passes markup through; isHtml knows both kinds", async (t) => {
  const svg = unsafeHtml('<svg viewBox="0 0 1 1"></svg>');
  t.ok(isHtml(svg));
  t.ok(isHtml(html`x`));
  t.notOk(isHtml("<b>"));
  t.equal(String(html`<div>${svg}</div>`), '<div><svg viewBox="0 0 1 1"></svg></div>');
});

t.test("the template's own text is never escaped", async (t) => {
  t.equal(String(html`<a href="/x?a=1&b=2">'</a>`), `<a href="/x?a=1&b=2">'</a>`);
  // prettier-ignore
  t.equal(`${String(html`<br>`)}`, "<br>", "usable in a plain template string");
});

t.test("javascript: URLs are not html's job: the value is escaped, not checked", async (t) => {
  // Documented: html escapes text, it does not validate URLs; scripts check schemes themselves.
  // prettier-ignore
  t.equal(String(html`<a href="${"javascript:alert(1)"}">`), '<a href="javascript:alert(1)">');
});
