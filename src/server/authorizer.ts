// The FastCGI AUTHORIZER role (spec section 6.3), as Apache's mod_authnz_fcgi uses it: the URL's
// script decides with its `authorize` export; a 200 lets the request through, with each
// `Variable-NAME` header set as NAME for the request; any other answer goes to the client.
import type { CgiHandler } from "../runtime/types.ts";
import type { ScriptExports } from "../scripts/loader.ts";
import { AuthorizeExportError } from "./errors.ts";

/** "The Authorizer application ... responds with Status 200 to authorize" (section 6.3). */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What `authorize` may return: a decision, the variables of a yes, or a whole answer. */
type AuthorizeResult = boolean | null | undefined | Record<string, string> | Response;

/** The part of the CGI context an answer is written with (names keep their case there, unlike in Headers). */
interface Head {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
}

/**
 * Writes an `authorize` answer on `cgi` and returns its body. Variable names keep their case:
 * Apache sets `Variable-TEAM` as TEAM; a Response's Headers lowercase names, so theirs are
 * upper-cased (the usual spelling of environment variables).
 */
async function answerAuthorize(cgi: Head, result: AuthorizeResult): Promise<Uint8Array | string | null> {
  if (result instanceof Response) {
    cgi.status(result.status);
    for (const [name, value] of result.headers) {
      cgi.header(name.startsWith("variable-") ? `Variable-${name.slice(9).toUpperCase()}` : name, value);
    }
    return result.body === null ? null : new Uint8Array(await result.arrayBuffer());
  }
  if (result === false || result === null || result === undefined) {
    cgi.status(403);
    return "403 Forbidden\n";
  }
  cgi.status(200);
  if (result === true) return null;
  for (const [name, value] of Object.entries(result)) {
    if (!VARIABLE_NAME.test(name)) throw new TypeError(`authorize: variable name ${JSON.stringify(name)} is not letters, digits and _`);
    cgi.header(`Variable-${name}`, String(value));
  }
  return null;
}

/** The handler an AUTHORIZER request runs: the script's `authorize`, its answer written on the context. */
export function authorizerHandler(exports: ScriptExports, file: string): CgiHandler {
  const authorize = exports.authorize;
  if (typeof authorize !== "function") throw new AuthorizeExportError(file);
  return async (cgi: Head) => answerAuthorize(cgi, await (authorize as (cgi: Head) => AuthorizeResult | Promise<AuthorizeResult>)(cgi));
}
