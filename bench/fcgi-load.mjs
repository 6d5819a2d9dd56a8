// A FastCGI load without a web server in between: CONNS kept connections each send one request
// after another (BEGIN_REQUEST with FCGI_KEEP_CONN, PARAMS as nginx's fastcgi_params would give
// them, STDIN in 32 KiB records as nginx sends a body), until TOTAL requests were answered. Every
// request is the same bytes, built once, so the client costs little beside the worker it loads.
// Prints "requests N seconds S"; exits 1 when a connection fails or a request is not answered 200
// within 60 s. Used by bench/script-costs.sh.
// Usage: node bench/fcgi-load.mjs PORT TOTAL CONNS PATH [BODY_FILE CONTENT_TYPE]
import { readFileSync } from "node:fs";
import net from "node:net";

const [portArg, totalArg, connsArg, path, bodyFile, contentType = "application/octet-stream"] = process.argv.slice(2);
const total = Number(totalArg);
const conns = Number(connsArg);
if (!(Number(portArg) > 0) || !(total > 0) || !(conns > 0) || !path?.startsWith("/")) {
  console.error("usage: node bench/fcgi-load.mjs PORT TOTAL CONNS PATH [BODY_FILE CONTENT_TYPE]");
  process.exit(2);
}
const body = bodyFile ? readFileSync(bodyFile) : Buffer.alloc(0);

function record(type, content) {
  const padding = (8 - (content.length % 8)) % 8;
  const header = Buffer.from([1, type, 0, 1, content.length >> 8, content.length & 0xff, padding, 0]);
  return Buffer.concat([header, content, Buffer.alloc(padding)]);
}
function length(bytes) {
  const n = bytes.length;
  return n < 128 ? Buffer.from([n]) : Buffer.from([0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}
function pair(name, value) {
  const [n, v] = [Buffer.from(name), Buffer.from(value)];
  return Buffer.concat([length(n), length(v), n, v]);
}

const params = {
  QUERY_STRING: "",
  REQUEST_METHOD: body.length > 0 ? "POST" : "GET",
  CONTENT_TYPE: body.length > 0 ? contentType : "",
  CONTENT_LENGTH: body.length > 0 ? String(body.length) : "",
  SCRIPT_NAME: path,
  REQUEST_URI: path,
  DOCUMENT_URI: path,
  SERVER_PROTOCOL: "HTTP/1.1",
  REQUEST_SCHEME: "http",
  GATEWAY_INTERFACE: "CGI/1.1",
  SERVER_SOFTWARE: "nginx",
  REMOTE_ADDR: "127.0.0.1",
  REMOTE_PORT: "40000",
  SERVER_ADDR: "127.0.0.1",
  SERVER_PORT: "80",
  SERVER_NAME: "localhost",
  HTTP_HOST: "localhost",
  HTTP_USER_AGENT: "fcgi-load",
  HTTP_ACCEPT: "*/*",
};
const parts = [
  record(1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])),
  record(4, Buffer.concat(Object.entries(params).map(([name, value]) => pair(name, value)))),
  record(4, Buffer.alloc(0)),
];
for (let at = 0; at < body.length; at += 32768) parts.push(record(5, body.subarray(at, at + 32768)));
parts.push(record(5, Buffer.alloc(0)));
const request = Buffer.concat(parts);

const deadline = setTimeout(() => {
  console.error(`fcgi-load: not all ${total} requests were answered within 60 s`);
  process.exit(1);
}, 60_000);

let sent = 0;
const started = process.hrtime.bigint();
function connection() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(portArg), "127.0.0.1");
    let pending = Buffer.alloc(0);
    let head = "";
    const next = () => {
      if (sent >= total) return void socket.end(resolve);
      sent++;
      head = "";
      socket.write(request);
    };
    socket.on("connect", next);
    socket.on("error", reject);
    socket.on("data", (data) => {
      pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
      while (pending.length >= 8) {
        const size = pending.readUInt16BE(4);
        const end = 8 + size + pending[6];
        if (pending.length < end) break;
        const type = pending[1];
        if (type === 6 && head.length < 512) head += pending.subarray(8, 8 + size).toString("latin1");
        pending = pending.subarray(end);
        if (type !== 3) continue;
        // A CGI head with no Status line is a 200.
        if (/^Status: (?!200)/im.test(head)) return reject(new Error(`${path} answered ${head.split("\r\n")[0]}`));
        next();
      }
    });
  });
}

try {
  await Promise.all(Array.from({ length: conns }, connection));
} catch (error) {
  console.error(`fcgi-load: ${error.message}`);
  process.exit(1);
}
clearTimeout(deadline);
console.log(`requests ${total} seconds ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(3)}`);
