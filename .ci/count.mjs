// Reads TAP on stdin (passing it through) and prints "N passed, N failed, N skipped": the leaf
// assertions, the closing line CI reads. A subtest's own summary point is not counted, except a
// failing one whose body shows no failure (a crashed or timed-out file), which counts once.
import { Parser } from "tap-parser";

const totals = { passed: 0, failed: 0, skipped: 0 };

function attach(parser) {
  const children = []; // failure counts of child subtests awaiting their summary point
  parser.on("child", (child) => children.push(attach(child)));
  const state = { failed: 0 };
  parser.on("assert", (a) => {
    if (children.length > 0) {
      const child = children.shift();
      if (!a.ok && child.failed === 0 && !a.todo) {
        totals.failed++;
        state.failed++;
      }
      state.failed += child.failed;
      return;
    }
    if (a.skip || a.todo) totals.skipped++;
    else if (a.ok) totals.passed++;
    else {
      totals.failed++;
      state.failed++;
    }
  });
  return state;
}

const parser = new Parser();
attach(parser);
parser.on("complete", (results) => {
  if (!results.ok && totals.failed === 0) totals.failed = 1;
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exitCode = totals.failed > 0 || totals.passed === 0 ? 1 : 0;
});
process.stdin.on("data", (d) => process.stdout.write(d));
process.stdin.pipe(parser);
