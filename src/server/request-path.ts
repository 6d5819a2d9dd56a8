// The URL path a request is for, from its CGI params: what builtins and the resolver match.

/** A URI path percent-decoded, or "" when it does not decode; encoded slashes are refused by the resolver from `raw`. */
function decodedPath(raw: string | undefined): string {
  try {
    return raw === undefined ? "" : decodeURIComponent(raw);
  } catch {
    return "";
  }
}

export function requestPath(params: Record<string, string>): { path: string; raw: string | undefined } {
  const uri = params.REQUEST_URI;
  const q = uri === undefined ? -1 : uri.indexOf("?");
  const raw = uri === undefined ? undefined : q === -1 ? uri : uri.slice(0, q);
  const doc = params.DOCUMENT_URI;
  if (doc) return { path: doc, raw };
  // An AUTHORIZER request carries neither SCRIPT_NAME nor PATH_INFO (FastCGI 6.3): REQUEST_URI's path.
  return { path: (params.SCRIPT_NAME ?? "") + (params.PATH_INFO ?? "") || decodedPath(raw) || "/", raw };
}
