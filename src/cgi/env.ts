// The frozen meta-variable object a script sees as `cgi.env` (RFC 3875 section 4.1).

export interface ScriptLocation {
  /** Absolute path of the script tscgi resolved (never the web server's SCRIPT_FILENAME). */
  file: string;
  /** URL path of the script (RFC 3875 4.1.13). */
  scriptName: string;
  /** The part of the path after the script (RFC 3875 4.1.5); "" when none. */
  pathInfo: string;
  /** Values of the `[param]` segments of the script's path, by name; absent for a static path. */
  params?: Readonly<Record<string, string>>;
}

/**
 * Overrides the three variables resolution decides, so the script sees what tscgi ran rather than
 * what the web server guessed; the Cgi context freezes it when a script first reads it. It takes over `params` (a fresh
 * prototype-less object per request) rather than copying it: copying two dozen properties cost
 * more than the rest of a hello world's dispatch. Request data stays here, never in process.env.
 */
export function buildEnv(params: Record<string, string>, script: ScriptLocation): Readonly<Record<string, string>> {
  const env = params;
  env.SCRIPT_NAME = script.scriptName;
  env.PATH_INFO = script.pathInfo;
  env.SCRIPT_FILENAME = script.file;
  env.GATEWAY_INTERFACE ??= "CGI/1.1";
  return env;
}
