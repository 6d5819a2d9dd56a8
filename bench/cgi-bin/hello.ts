// The benchmark's hello world: classic style, a returned string answers 200 text/html.
export default function () {
  return "Hello, world";
}
