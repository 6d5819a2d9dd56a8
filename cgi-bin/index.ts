// GET / -> a page listing the samples.
import { html } from "tscgi";

export default function () {
  const links = ["hello?name=Ada", "env", "form", "time", "users/42"];
  return html`<!doctype html><title>tscgi</title>
    <h1>tscgi</h1>
    <ul>
      ${links.map((l) => html`<li><a href="${l}">/${l}</a></li>`)}
    </ul>`;
}
