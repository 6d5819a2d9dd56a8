// One HTTP GET on a new connection. Tests of the pool use it: with keep-alive every request
// would go to the worker that took the first connection, and die with it.
import { get } from "node:http";

export function getFresh(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      res.on("error", reject);
    }).on("error", reject);
  });
}
