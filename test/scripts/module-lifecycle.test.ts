// ModuleLifecycle: which export disposes a module, and a dispose that hangs or throws costs only a log line.
import t from "tap";
import { ModuleLifecycle } from "../../src/scripts/module-lifecycle.ts";

function lifecycle(timeout = 5000) {
  const lines: string[] = [];
  const lc = new ModuleLifecycle({ timeout, log: (level, message) => void lines.push(`${level} ${message}`) });
  return { lc, lines };
}

t.test("dispose(), Symbol.asyncDispose and Symbol.dispose are each called once", async (t) => {
  const { lc, lines } = lifecycle();
  const calls: string[] = [];
  lc.dropped("/a.ts", { dispose: async () => void calls.push("dispose") });
  lc.dropped("/b.ts", { default: { [Symbol.asyncDispose]: async () => void calls.push("asyncDispose") } });
  lc.dropped("/c.ts", { default: () => "x", [Symbol.dispose]: () => void calls.push("dispose symbol") });
  lc.dropped("/d.ts", { default: () => "no disposer" });
  await lc.settled();
  t.same(calls.sort(), ["asyncDispose", "dispose", "dispose symbol"]);
  t.same(lines, []);
  t.equal(lc.running, 0);
});

t.test("a dispose that throws or rejects is logged with its file", async (t) => {
  const { lc, lines } = lifecycle();
  lc.dropped("/sync.ts", {
    dispose() {
      throw new Error("boom");
    },
  });
  lc.dropped("/async.ts", { dispose: () => Promise.reject(new Error("later")) });
  await lc.settled();
  t.equal(lines.length, 2);
  t.match(lines.join("\n"), /error dispose of \/sync\.ts failed: Error: boom/);
  t.match(lines.join("\n"), /error dispose of \/async\.ts failed: Error: later/);
});

t.test("a dispose that never settles is given up at the timeout", async (t) => {
  const { lc, lines } = lifecycle(20);
  lc.dropped("/hang.ts", { dispose: () => new Promise(() => {}) });
  t.equal(lc.running, 1);
  await lc.settled();
  t.match(lines, [/warn dispose of \/hang\.ts did not finish within 20 ms \(dispose_timeout\)/]);
});
