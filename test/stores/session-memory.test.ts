// The memory session store keeps the store contract within one process.
import t from "tap";
import { MemorySessionStore } from "../../src/stores/session-memory.ts";
import { sessionStoreContract } from "./session-contract.ts";

sessionStoreContract(t, () => new MemorySessionStore());

t.test("gc removes sessions idle for too long", async (t) => {
  const store = new MemorySessionStore();
  const lock = await store.lock("a".repeat(43), 100);
  await lock.save({ data: { x: 1 }, created: 0, touched: 0 }, 0);
  await lock.release();
  const fresh = await store.lock("b".repeat(43), 100);
  await fresh.save({ data: { x: 1 }, created: 0, touched: 9_000 }, 0);
  await fresh.release();
  t.equal(await store.gc(5_000, 10_000), 1);
  t.equal((await store.lock("a".repeat(43), 100)).record, null);
  t.same((await store.lock("b".repeat(43), 100)).record?.data, { x: 1 });
});
