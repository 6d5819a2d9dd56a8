// A tscgi pool behind a real nginx, both stopped (by pid) when the test ends.
import type { Test } from "tap";
import { startNginx, type Nginx } from "./nginx.ts";
import { startTscgi, type TscgiProcess } from "./tscgi.ts";

export async function poolBehindNginx(t: Test, args: string[]): Promise<{ tscgi: TscgiProcess; nginx: Nginx }> {
  const tscgi = await startTscgi(args);
  let nginx: Nginx;
  try {
    nginx = await startNginx(`127.0.0.1:${tscgi.fastcgiPort}`);
  } catch (error) {
    await tscgi.stop();
    throw error;
  }
  t.teardown(async () => {
    await nginx.stop();
    await tscgi.stop();
  });
  return { tscgi, nginx };
}
