// The benchmark's POST of 1 MiB: the whole request body read into memory, answered with its size
// (PHP: file_get_contents("php://input"); node:http: the chunks joined).
import type { Cgi } from "tscgi";

export default async function (cgi: Cgi) {
  const body = await cgi.request.arrayBuffer();
  return `bytes: ${body.byteLength}`;
}
