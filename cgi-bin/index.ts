// GET / -> a page listing the samples.
export default function () {
  const links = ["hello?name=Ada", "env", "form", "time", "users/42"];
  return `<!doctype html><title>tscgi</title><h1>tscgi</h1><ul>${links
    .map((l) => `<li><a href="${l}">/${l}</a></li>`)
    .join("")}</ul>`;
}
