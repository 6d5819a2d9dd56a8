// `tscgi/jsx-runtime`: what the compiler imports for JSX when `jsxImportSource` is "tscgi".
export { Fragment, jsx, jsxs, jsxDEV, type JSX, type Component, type JsxChild } from "./jsx.ts";
