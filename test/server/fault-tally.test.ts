// Faults counted per script and kind; a script faulting again and again is named once a minute.
import t from "tap";
import { FAULT_WINDOW, FaultTally, REPEATED_FAULTS } from "../../src/server/fault-tally.ts";
import { PoolFaults } from "../../src/pool/pool-faults.ts";

t.test("counts by script and kind, most faults first", async (t) => {
  const tally = new FaultTally();
  tally.add("b.ts", "exit", 0);
  tally.add("a.ts", "uncaught", 0);
  tally.add("b.ts", "rejection", 0);
  t.same(tally.list(), [
    { script: "b.ts", faults: 2, exit: 1, uncaught: 0, rejection: 1, runaway: 0, death: 0 },
    { script: "a.ts", faults: 1, exit: 0, uncaught: 1, rejection: 0, runaway: 0, death: 0 },
  ]);
});

t.test(`${REPEATED_FAULTS} faults within a minute get one line, then none until the window passed`, async (t) => {
  const tally = new FaultTally();
  const lines: Array<string | null> = [];
  for (let i = 0; i < REPEATED_FAULTS + 3; i++) lines.push(tally.add("x.ts", i % 2 ? "exit" : "uncaught", i * 1000));
  t.same(
    lines.map((l) => l !== null),
    [false, false, false, false, true, false, false, false],
  );
  t.match(lines[REPEATED_FAULTS - 1], /^script x\.ts faults repeatedly: 5 faults in the last minute, 5 since start \(2 exit, 3 uncaught\)/);
  t.match(tally.add("x.ts", "exit", 4000 + FAULT_WINDOW), /faults repeatedly/, "again a window later");
});

t.test("faults spread wider than the window are not repeated", async (t) => {
  const tally = new FaultTally();
  for (let i = 0; i < 20; i++) t.equal(tally.add("slow.ts", "exit", i * (FAULT_WINDOW / 4 + 1)), null);
});

t.test("the pool counts a death for each script a dying worker was running", async (t) => {
  const lines: string[] = [];
  const faults = new PoolFaults((line) => lines.push(line));
  faults.died({
    type: "exiting",
    code: 1,
    reason: "x",
    requests: [
      { script: "a.ts", method: "GET", uri: "/a" },
      { script: "a.ts", method: "GET", uri: "/a?2" },
      { script: "-", method: "GET", uri: "/status" },
    ],
  });
  faults.died(null);
  faults.reported("b.ts", "exit");
  t.match(faults.list(), [
    { script: "a.ts", death: 1, faults: 1 },
    { script: "b.ts", exit: 1, faults: 1 },
  ]);
  t.same(lines, []);
});
