// A custom error page may take either script style; both get the ErrorPageInfo after their usual arguments.
import t from "tap";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpError } from "../../src/runtime/http-error.ts";
import type { Cgi, CgiEnv, ErrorPageHandler, ErrorPageInfo } from "../../src/runtime/types.ts";
import { AccessLog } from "../../src/server/access-log.ts";
import { Dispatcher } from "../../src/server/dispatch.ts";
import { Logger, LogSink } from "../../src/server/log.ts";
import { RecordingExchange } from "../helpers/recording-exchange.ts";

const root = mkdtempSync(join(tmpdir(), "tscgi-error-pages-"));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
// The pages are found on disk as scripts are; the loader below answers with the modules.
writeFileSync(join(root, "_404.ts"), "");
writeFileSync(join(root, "_500.ts"), "");

const classic: ErrorPageHandler = (cgi: Cgi, error: ErrorPageInfo) => `classic ${error.status}: ${error.message} (${cgi.env.REQUEST_URI})`;
const fetchStyle: ErrorPageHandler = {
  fetch: (_request: Request, env: CgiEnv, _cgi: Cgi, error: ErrorPageInfo) =>
    new Response(`fetch ${error.status}: ${error.message} id=${error.requestId === null ? "none" : "set"} (${env.REQUEST_URI})`, {
      status: error.status,
    }),
};

function dispatcher(pages: Record<string, ErrorPageHandler>): Dispatcher {
  const modules: Record<string, unknown> = {
    [join(root, "gone.ts")]: { default: () => Promise.reject(new HttpError(404, "no such user")) },
    [join(root, "broken.ts")]: { default: () => Promise.reject(new Error("a bug")) },
  };
  for (const [name, page] of Object.entries(pages)) modules[join(root, name)] = { default: page };
  return new Dispatcher({
    root,
    resolver: { resolve: (path: string) => ({ file: join(root, `${path.slice(1)}.ts`), scriptName: path, pathInfo: "" }) },
    loader: { load: (file: string) => modules[file] as { default: unknown } },
    maxBodySize: 0,
    requestTimeout: 0,
    extensions: [".ts"],
    log: new Logger(new LogSink("off")),
    accessLog: new AccessLog(new LogSink("off")),
  });
}

async function get(d: Dispatcher, path: string): Promise<RecordingExchange> {
  const exchange = new RecordingExchange({ DOCUMENT_URI: path, REQUEST_URI: path });
  await d.dispatch(exchange);
  return exchange;
}

t.test("a classic page gets (cgi, error)", async (t) => {
  const d = dispatcher({ "_404.ts": classic, "_500.ts": classic });
  const gone = await get(d, "/gone");
  t.same([gone.status, gone.body], [404, "classic 404: no such user (/gone)"]);
  const broken = await get(d, "/broken");
  t.same([broken.status, broken.body], [500, "classic 500: Internal Server Error (/broken)"]);
  d.close();
});

t.test("a fetch-style page gets (request, env, cgi, error)", async (t) => {
  const d = dispatcher({ "_404.ts": fetchStyle, "_500.ts": fetchStyle });
  const gone = await get(d, "/gone");
  t.same([gone.status, gone.body], [404, "fetch 404: no such user id=none (/gone)"]);
  const broken = await get(d, "/broken");
  t.same([broken.status, broken.body], [500, "fetch 500: Internal Server Error id=set (/broken)"]);
  d.close();
});
