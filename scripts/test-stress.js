// `npm run test:stress`: the pool and end-to-end tests, run N times while two CPU burners load
// both cores, to show they wait for events and not for the clock. Not part of CI.
//
//   node scripts/test-stress.js [--runs 10] [--factor 4] [--burners 2] [files...]
//
// Prints one line per run and ends with "runs passed X of Y"; exits 1 unless every run passed.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import minimist from "minimist";

const args = minimist(process.argv.slice(2), { string: ["runs", "factor", "burners"] });
const runs = wholeNumber("runs", args.runs ?? "10", 1);
// Every bound in the tests is multiplied by this (test/helpers/time.ts); the tap per-file
// timeout (.taprc: 120 s) too.
const factor = wholeNumber("factor", args.factor ?? process.env.TEST_TIME_FACTOR ?? "4", 1);
const burners = wholeNumber("burners", args.burners ?? String(Math.min(2, cpus().length)), 0);

// A run of these files takes a few minutes on a loaded 2-core machine; a burner outliving that
// budget for every run stops by itself even if this script is killed.
const RUN_BUDGET_MS = 15 * 60 * 1000;
const E2E = ["nginx", "unix-socket", "log-injection", "fastcgi-server", "http-front"].map((name) => `test/server/${name}.test.ts`);
const POOL = readdirSync("test/pool")
  .filter((name) => name.endsWith(".test.ts"))
  .map((name) => join("test/pool", name));
const files = args._.length > 0 ? args._.map(String) : [...POOL, ...E2E];

function wholeNumber(name, raw, min) {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`test:stress: --${name} ${JSON.stringify(raw)}: expected a whole number of at least ${min}`);
    process.exit(2);
  }
  return value;
}

/** A process spinning one core until `ms` have passed. */
function burner(ms) {
  const code = `const end = Date.now() + ${ms}; while (Date.now() < end) {}`;
  return spawn(process.execPath, ["-e", code], { stdio: "ignore" });
}

/** The tap run going on, stopped (by pid) with the burners when this script is interrupted. */
let current = null;

function runTests() {
  return new Promise((resolve) => {
    const tap = (current = spawn(
      process.execPath,
      [join("node_modules", "tap", "dist", "esm", "run.mjs"), "--disable-coverage", `--timeout=${120 * factor}`, ...files],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TEST_TIME_FACTOR: String(factor) } },
    ));
    let output = "";
    tap.stdout.on("data", (chunk) => (output += chunk));
    tap.stderr.on("data", (chunk) => (output += chunk));
    tap.on("close", (code) => resolve({ code, output }));
  });
}

const build = spawnSync(process.execPath, ["scripts/build.js"], { stdio: "inherit" });
if (build.status !== 0) process.exit(1);

const load = Array.from({ length: burners }, () => burner(runs * RUN_BUDGET_MS));
const stopBurners = () => {
  for (const child of load) if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGTERM");
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopBurners();
    if (current?.exitCode === null) process.kill(current.pid, "SIGTERM");
    process.exit(130);
  });
}

console.log(
  `test:stress: ${files.length} files, ${runs} runs, ${burners} CPU burners (pids ${load.map((c) => c.pid).join(", ")}), time factor ${factor}`,
);
// Each run's whole TAP output, for the failures' details.
const logs = mkdtempSync(join(tmpdir(), "tscgi-stress-"));
console.log(`test:stress: each run's output goes to ${logs}/run-N.tap`);
let passed = 0;
try {
  for (let run = 1; run <= runs; run++) {
    const started = Date.now();
    const { code, output } = await runTests();
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (code === 0) passed++;
    writeFileSync(join(logs, `run-${run}.tap`), output);
    const failures = output.split("\n").filter((line) => /^\s*not ok /.test(line));
    console.log(`run ${run}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds} s`);
    for (const line of failures.slice(0, 20)) console.log(`  ${line.trim()}`);
  }
} finally {
  stopBurners();
}
console.log(`runs passed ${passed} of ${runs}`);
process.exit(passed === runs ? 0 : 1);
