// Builds a standard Request from CGI meta-variables (RFC 3875 section 4.1) and a body stream.

const NO_BODY = new Set(["GET", "HEAD"]);

/** The request URL as the client asked for it: REQUEST_URI when the web server sent it (nginx, Apache do). */
export function requestUrl(env: Readonly<Record<string, string>>): string {
  const https = env.HTTPS !== undefined && env.HTTPS !== "" && env.HTTPS.toLowerCase() !== "off";
  const scheme = env.REQUEST_SCHEME || (https ? "https" : "http");
  let host = env.HTTP_HOST;
  if (!host) {
    const name = env.SERVER_NAME || "localhost";
    const port = env.SERVER_PORT;
    const defaultPort = scheme === "https" ? "443" : "80";
    host = port && port !== defaultPort ? `${name.includes(":") ? `[${name}]` : name}:${port}` : name;
  }
  let target = env.REQUEST_URI;
  if (!target) {
    const query = env.QUERY_STRING;
    target = (env.SCRIPT_NAME ?? "") + (env.PATH_INFO ?? "") + (query ? `?${query}` : "");
  }
  if (!target.startsWith("/")) target = `/${target}`;
  try {
    return new URL(target, `${scheme}://${host}`).href;
  } catch {
    // A Host header that is not a valid authority must not make the request unreadable.
    return new URL(target, `${scheme}://localhost`).href;
  }
}

/** HTTP_ACCEPT_LANGUAGE -> accept-language (RFC 3875 4.1.18). */
export function headersFromEnv(env: Readonly<Record<string, string>>): Headers {
  const headers = new Headers();
  for (const key in env) {
    let name: string;
    // HTTP_PROXY is never a request header (httpoxy: web servers blank it on purpose).
    if (key === "HTTP_PROXY") continue;
    if (key.startsWith("HTTP_")) name = key.slice(5).toLowerCase().replaceAll("_", "-");
    else if (key === "CONTENT_TYPE") name = "content-type";
    else if (key === "CONTENT_LENGTH") name = "content-length";
    else continue;
    const value = env[key];
    if (value === "" && name === "content-length") continue;
    try {
      headers.append(name, value);
    } catch {
      // A value Headers refuses (a byte it cannot represent) is left out rather than failing the request.
    }
  }
  return headers;
}

export function buildRequest(env: Readonly<Record<string, string>>, body: () => ReadableStream<Uint8Array>, signal?: AbortSignal): Request {
  const method = (env.REQUEST_METHOD || "GET").toUpperCase();
  const init: RequestInit & { duplex?: "half" } = { method, headers: headersFromEnv(env) };
  if (!NO_BODY.has(method)) {
    init.body = body();
    init.duplex = "half";
  }
  if (signal) init.signal = signal;
  return new Request(requestUrl(env), init);
}
