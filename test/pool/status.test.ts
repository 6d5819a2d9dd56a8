// The status page renderings: PHP-FPM's text and JSON, and metrics checked by a real parser
// (Debian's python3-prometheus-client) in both Prometheus 0.0.4 and OpenMetrics 1.0.
import t from "tap";
import { PHP_FPM_POOL_FIELDS } from "../helpers/php-fpm.ts";
import { family, findPython, parseMetrics as parse, pythonMissing as missing } from "../helpers/prometheus.ts";
import {
  clfTime,
  mergeBroken,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  renderStatus,
  statusFormat,
} from "../../src/pool/status.ts";
import type { PoolStatus } from "../../src/pool/status-snapshot.ts";
import { escapeLabelValue } from "../../src/pool/status-metrics.ts";

process.env.TZ = "UTC";

const START = Date.UTC(2023, 10, 14, 22, 13, 20); // 14/Nov/2023:22:13:20 +0000
/** A URI with every character a label value must escape. */
const NASTY_URI = '/search?q="quoted"&path=C:\\dir\\&x=a\nb';

function snapshot(overrides: Partial<PoolStatus> = {}): PoolStatus {
  return {
    pool: "tscgi",
    processManager: "dynamic",
    startTime: START,
    now: START + 3_723_000,
    acceptedConn: 1042,
    listenQueue: 2,
    maxListenQueue: 7,
    listenQueueLen: 511,
    idleProcesses: 3,
    activeProcesses: 1,
    totalProcesses: 4,
    maxActiveProcesses: 4,
    maxChildrenReached: 5,
    slowRequests: 6,
    rejectedRequests: 8,
    workerRestarts: 9,
    maxConnectionsReached: 10,
    processes: [
      {
        pid: 4242,
        state: "Running",
        startTime: START + 1000,
        requests: 17,
        requestDuration: 250_000,
        requestMethod: "POST",
        requestUri: NASTY_URI,
        contentLength: 123,
        user: "alice",
        script: "/srv/cgi-bin/search.ts",
        lastRequestCpu: 0,
        lastRequestMemory: 0,
      },
      {
        pid: 4243,
        state: "Idle",
        startTime: START + 2000,
        requests: 3,
        requestDuration: 1500,
        requestMethod: "GET",
        requestUri: "/hello",
        contentLength: 0,
        user: "-",
        script: "/srv/cgi-bin/hello.ts",
        lastRequestCpu: 12.345,
        lastRequestMemory: 52_428_800,
      },
    ],
    ...overrides,
  };
}

const POOL_FIELDS = [
  ...PHP_FPM_POOL_FIELDS,
  "rejected requests",
  "worker restarts",
  "max connections reached",
  "script faults",
  "broken scripts",
];
const FAULTS: PoolStatus["scriptFaults"] = [
  { script: "cart.ts", faults: 7, exit: 6, uncaught: 0, rejection: 0, runaway: 0, death: 1 },
  { script: 'we"ird\nname.ts', faults: 1, exit: 0, uncaught: 0, rejection: 0, runaway: 1, death: 0 },
];
const PROCESS_FIELDS = [
  "pid",
  "state",
  "start time",
  "start since",
  "requests",
  "request duration",
  "request method",
  "request uri",
  "content length",
  "user",
  "script",
  "last request cpu",
  "last request memory",
];

t.test("the query picks the format as PHP-FPM does, by key", async (t) => {
  t.same(statusFormat(""), { format: "text", full: false });
  t.same(statusFormat("text"), { format: "text", full: false });
  t.same(statusFormat("full"), { format: "text", full: true });
  t.same(statusFormat("json&full"), { format: "json", full: true });
  t.same(statusFormat("full&json"), { format: "json", full: true });
  t.same(statusFormat("json=1"), { format: "json", full: false });
  t.same(statusFormat("prometheus"), { format: "prometheus", full: false });
  t.same(statusFormat("prometheus="), { format: "prometheus", full: false }, 'what Prometheus\' params: {prometheus: [""]} sends');
  t.same(statusFormat("openmetrics&full"), { format: "openmetrics", full: true });
  t.same(statusFormat("html"), { format: "text", full: false }, "html and xml are not rendered: text");
  t.same(statusFormat("%6Ason"), { format: "json", full: false }, "keys are percent-decoded");
});

t.test("an Accept header that prefers OpenMetrics upgrades ?prometheus, as Prometheus servers negotiate", async (t) => {
  const scrape =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  t.equal(renderStatus(snapshot(), "prometheus", scrape).contentType, OPENMETRICS_CONTENT_TYPE);
  t.equal(renderStatus(snapshot(), "prometheus", "text/plain;version=0.0.4").contentType, PROMETHEUS_CONTENT_TYPE);
  t.equal(renderStatus(snapshot(), "prometheus", "text/plain, application/openmetrics-text;q=0.5").contentType, PROMETHEUS_CONTENT_TYPE);
  t.equal(renderStatus(snapshot(), "prometheus", "application/openmetrics-text;q=0").contentType, PROMETHEUS_CONTENT_TYPE);
  t.equal(renderStatus(snapshot(), "prometheus").contentType, PROMETHEUS_CONTENT_TYPE);
  t.equal(renderStatus(snapshot(), "openmetrics", "text/plain").contentType, OPENMETRICS_CONTENT_TYPE, "an explicit ?openmetrics stays");
  t.equal(
    renderStatus(snapshot(), "", scrape).contentType,
    "text/plain; charset=utf-8",
    "Accept alone does not turn the text page into metrics",
  );
});

t.test("JSON uses PHP-FPM's field names, in its order, then tscgi's own", async (t) => {
  const r = renderStatus(snapshot(), "json");
  t.equal(r.contentType, "application/json");
  const body = JSON.parse(r.body) as Record<string, unknown>;
  t.same(Object.keys(body), POOL_FIELDS);
  t.same(body, {
    pool: "tscgi",
    "process manager": "dynamic",
    "start time": START / 1000,
    "start since": 3723,
    "accepted conn": 1042,
    "listen queue": 2,
    "max listen queue": 7,
    "listen queue len": 511,
    "idle processes": 3,
    "active processes": 1,
    "total processes": 4,
    "max active processes": 4,
    "max children reached": 5,
    "slow requests": 6,
    "rejected requests": 8,
    "worker restarts": 9,
    "max connections reached": 10,
    "script faults": [],
    "broken scripts": [],
  });
});

t.test("scripts with faults: by name and count in text, JSON and metrics", async (t) => {
  const text = renderStatus(snapshot({ scriptFaults: FAULTS }), "").body;
  t.match(
    text,
    /worker restarts: {6}9\nmax connections reached: 10\nscript faults: {8}cart\.ts 7 \(6 exit, 1 worker deaths\)\nscript faults: {8}we"ird\\nname\.ts 1 \(1 runaway\)\n$/,
  );
  t.notMatch(renderStatus(snapshot(), "").body, /script faults/, "no line when no script faulted");
  const json = JSON.parse(renderStatus(snapshot({ scriptFaults: FAULTS }), "json").body) as Record<string, unknown>;
  t.same(json["script faults"], [
    { script: "cart.ts", faults: 7, exit: 6, uncaught: 0, rejection: 0, runaway: 0, "worker deaths": 1 },
    { script: 'we"ird\nname.ts', faults: 1, exit: 0, uncaught: 0, rejection: 0, runaway: 1, "worker deaths": 0 },
  ]);
  const om = renderStatus(snapshot({ scriptFaults: FAULTS }), "openmetrics").body;
  t.match(om, /^# TYPE tscgi_script_faults counter\n/m);
  t.match(
    om,
    /^tscgi_script_faults_total\{script="cart\.ts",kind="exit"\} 6\ntscgi_script_faults_total\{script="cart\.ts",kind="death"\} 1\n/m,
  );
  t.match(om, /^tscgi_script_faults_total\{script="we\\"ird\\nname\.ts",kind="runaway"\} 1$/m);
});

t.test("broken files: where, what, and which scripts keep their last good version, in text, JSON and metrics", async (t) => {
  const broken: PoolStatus["brokenScripts"] = [
    { file: "_lib/db.ts", line: 3, column: 14, message: 'Expected ";" but found "pool"', lastGood: ["users.ts", "orders.ts"] },
    { file: "new.ts", line: 1, column: 2, message: "Unexpected end of file", lastGood: [] },
  ];
  const text = renderStatus(snapshot({ brokenScripts: broken }), "").body;
  t.match(text, /^broken script: {8}_lib\/db\.ts:3:14 Expected ";" but found "pool" \(last good version answers users\.ts, orders\.ts\)$/m);
  t.match(text, /^broken script: {8}new\.ts:1:2 Unexpected end of file \(no version answers\)$/m);
  t.notMatch(renderStatus(snapshot(), "").body, /broken script/, "no line when everything compiles");
  const json = JSON.parse(renderStatus(snapshot({ brokenScripts: broken }), "json").body) as Record<string, unknown>;
  t.same(json["broken scripts"], [
    { file: "_lib/db.ts", line: 3, column: 14, message: 'Expected ";" but found "pool"', "last good": ["users.ts", "orders.ts"] },
    { file: "new.ts", line: 1, column: 2, message: "Unexpected end of file", "last good": [] },
  ]);
  const om = renderStatus(snapshot({ brokenScripts: broken }), "openmetrics").body;
  t.match(om, /^tscgi_broken_script\{file="_lib\/db\.ts",last_good="yes"\} 1$/m);
  t.match(om, /^tscgi_broken_script\{file="new\.ts",last_good="no"\} 1$/m);
});

t.test("mergeBroken: one line per file, with every script any worker keeps on its last good version", async (t) => {
  const merged = mergeBroken([
    [{ file: "b.ts", line: 1, column: 1, message: "x", lastGood: ["b.ts"] }],
    undefined,
    [
      { file: "b.ts", line: 1, column: 1, message: "x", lastGood: ["c.ts", "b.ts"] },
      { file: "a.ts", line: 2, column: 1, message: "y", lastGood: [] },
    ],
  ]);
  t.same(
    merged.map((b) => [b.file, b.lastGood]),
    [
      ["a.ts", []],
      ["b.ts", ["b.ts", "c.ts"]],
    ],
  );
});

t.test("JSON ?full adds the processes list with PHP-FPM's per-process names", async (t) => {
  const body = JSON.parse(renderStatus(snapshot(), "json&full").body) as { processes: Record<string, unknown>[] };
  t.same(Object.keys(body), [...POOL_FIELDS, "processes"]);
  t.equal(body.processes.length, 2);
  t.same(Object.keys(body.processes[0]), PROCESS_FIELDS);
  t.same(body.processes[0], {
    pid: 4242,
    state: "Running",
    "start time": START / 1000 + 1,
    "start since": 3722,
    requests: 17,
    "request duration": 250000,
    "request method": "POST",
    "request uri": NASTY_URI,
    "content length": 123,
    user: "alice",
    script: "/srv/cgi-bin/search.ts",
    "last request cpu": 0,
    "last request memory": 0,
  });
  t.equal(body.processes[1]["last request cpu"], 12.35, "cpu to two decimals, as PHP-FPM's %.2f");
});

t.test("text is PHP-FPM's plain layout with aligned colons", async (t) => {
  const r = renderStatus(snapshot(), "");
  t.equal(r.contentType, "text/plain; charset=utf-8");
  t.equal(
    r.body,
    [
      "pool:                 tscgi",
      "process manager:      dynamic",
      "start time:           14/Nov/2023:22:13:20 +0000",
      "start since:          3723",
      "accepted conn:        1042",
      "listen queue:         2",
      "max listen queue:     7",
      "listen queue len:     511",
      "idle processes:       3",
      "active processes:     1",
      "total processes:      4",
      "max active processes: 4",
      "max children reached: 5",
      "slow requests:        6",
      "rejected requests:    8",
      "worker restarts:      9",
      "max connections reached: 10",
      "",
    ].join("\n"),
  );
});

t.test("text ?full lists each process after a row of stars", async (t) => {
  const body = renderStatus(snapshot(), "full").body;
  const idle = body.split("\n************************\n")[2];
  t.equal(
    idle,
    [
      "pid:                  4243",
      "state:                Idle",
      "start time:           14/Nov/2023:22:13:22 +0000",
      "start since:          3721",
      "requests:             3",
      "request duration:     1500",
      "request method:       GET",
      "request URI:          /hello",
      "content length:       0",
      "user:                 -",
      "script:               /srv/cgi-bin/hello.ts",
      "last request cpu:     12.35",
      "last request memory:  52428800",
      "",
    ].join("\n"),
  );
  t.match(
    body,
    /request URI: {10}\/search\?q="quoted"&path=C:\\dir\\&x=a\\nb\n/,
    "a newline in a URI cannot break the one-line-per-field layout",
  );
});

t.test("start time is local time in the text page", async (t) => {
  t.teardown(() => {
    process.env.TZ = "UTC";
  });
  process.env.TZ = "Asia/Kolkata";
  t.equal(clfTime(START), "15/Nov/2023:03:43:20 +0530");
  process.env.TZ = "America/New_York";
  t.equal(clfTime(START), "14/Nov/2023:17:13:20 -0500");
});

t.test("label values escape backslash, double quote and newline", async (t) => {
  t.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const body = renderStatus(snapshot(), "prometheus&full").body;
  t.ok(body.includes('request_uri="/search?q=\\"quoted\\"&path=C:\\\\dir\\\\&x=a\\nb"'), body);
  t.notOk(/\n[^#\nt]/.test(body), "every line is a comment or a tscgi_ sample: no raw newline leaked");
});

t.test("metric names: counters end in _total, OpenMetrics names the family without it", async (t) => {
  const prom = renderStatus(snapshot(), "prometheus").body;
  t.match(prom, /^# TYPE tscgi_accepted_connections_total counter\ntscgi_accepted_connections_total 1042$/m);
  t.match(prom, /^# TYPE tscgi_pool_info gauge$/m, "0.0.4 has no info type");
  t.notOk(prom.includes("# EOF"));
  const om = renderStatus(snapshot(), "openmetrics").body;
  t.match(om, /^# TYPE tscgi_accepted_connections counter\ntscgi_accepted_connections_total 1042$/m);
  t.match(om, /^# TYPE tscgi_pool info\ntscgi_pool_info\{pool="tscgi",process_manager="dynamic"\} 1$/m);
  t.ok(om.endsWith("\n# EOF\n"), "OpenMetrics ends with # EOF");
  t.notOk(prom.includes("tscgi_process_"), "per-process metrics only with full");
});

const python = findPython();

t.test("a real parser accepts the output", { skip: python === null && !process.env.CI ? missing : false }, async (t) => {
  if (python === null) {
    t.fail(`${missing}; CI is set, so the parser tests may not be skipped`);
    return;
  }

  for (const mode of ["prometheus", "openmetrics"] as const) {
    t.test(`${mode}: families, types and values`, async (t) => {
      const families = parse(python, mode, renderStatus(snapshot(), mode).body);
      t.same(
        families.map((f) => [f.name, f.type]),
        [
          ["tscgi_up", "gauge"],
          mode === "openmetrics" ? ["tscgi_pool", "info"] : ["tscgi_pool_info", "gauge"],
          ["tscgi_start_time_seconds", "gauge"],
          ["tscgi_start_since_seconds", "gauge"],
          ["tscgi_accepted_connections", "counter"],
          ["tscgi_listen_queue", "gauge"],
          ["tscgi_max_listen_queue", "gauge"],
          ["tscgi_listen_queue_length", "gauge"],
          ["tscgi_processes", "gauge"],
          ["tscgi_total_processes", "gauge"],
          ["tscgi_max_active_processes", "gauge"],
          ["tscgi_max_children_reached", "counter"],
          ["tscgi_slow_requests", "counter"],
          ["tscgi_rejected_requests", "counter"],
          ["tscgi_worker_restarts", "counter"],
          ["tscgi_max_connections_reached", "counter"],
          ["tscgi_script_faults", "counter"],
          ["tscgi_broken_script", "gauge"],
        ],
      );
      for (const f of families) t.ok(f.help.length > 0, `${f.name} has HELP`);
      const value = (name: string) => family(families, name).samples[0];
      t.same(value("tscgi_up"), { name: "tscgi_up", labels: {}, value: 1 });
      t.same(value("tscgi_accepted_connections"), { name: "tscgi_accepted_connections_total", labels: {}, value: 1042 });
      t.equal(value("tscgi_max_children_reached").value, 5);
      t.equal(value("tscgi_slow_requests").value, 6);
      t.equal(value("tscgi_rejected_requests").value, 8);
      t.equal(value("tscgi_worker_restarts").value, 9);
      t.equal(value("tscgi_max_connections_reached").value, 10);
      t.equal(value("tscgi_listen_queue").value, 2);
      t.equal(value("tscgi_start_time_seconds").value, START / 1000);
      t.same(
        family(families, "tscgi_processes").samples.map((s) => [s.labels.state, s.value]),
        [
          ["idle", 3],
          ["active", 1],
        ],
      );
      t.same(family(families, mode === "openmetrics" ? "tscgi_pool" : "tscgi_pool_info").samples[0].labels, {
        pool: "tscgi",
        process_manager: "dynamic",
      });
    });

    t.test(`${mode}: per-process metrics with full, label values round-trip`, async (t) => {
      const families = parse(python, mode, renderStatus(snapshot(), `${mode}&full`).body);
      const info = family(families, mode === "openmetrics" ? "tscgi_process" : "tscgi_process_info");
      t.same(info.samples[0].labels, {
        pid: "4242",
        state: "Running",
        request_method: "POST",
        request_uri: NASTY_URI,
        user: "alice",
        script: "/srv/cgi-bin/search.ts",
      });
      const requests = family(families, "tscgi_process_requests");
      t.equal(requests.type, "counter");
      t.same(
        requests.samples.map((s) => [s.name, s.labels.pid, s.value]),
        [
          ["tscgi_process_requests_total", "4242", 17],
          ["tscgi_process_requests_total", "4243", 3],
        ],
      );
      t.same(
        family(families, "tscgi_process_request_duration_seconds").samples.map((s) => s.value),
        [0.25, 0.0015],
        "microseconds become seconds",
      );
      t.same(
        family(families, "tscgi_process_last_request_memory_bytes").samples.map((s) => s.value),
        [0, 52428800],
      );
      t.equal(family(families, "tscgi_process_last_request_cpu_percent").samples[1].value, 12.345);
    });

    t.test(`${mode}: script faults, label values round-trip`, async (t) => {
      const families = parse(python, mode, renderStatus(snapshot({ scriptFaults: FAULTS }), mode).body);
      t.same(
        family(families, "tscgi_script_faults").samples.map((s) => [s.name, s.labels.script, s.labels.kind, s.value]),
        [
          ["tscgi_script_faults_total", "cart.ts", "exit", 6],
          ["tscgi_script_faults_total", "cart.ts", "death", 1],
          ["tscgi_script_faults_total", 'we"ird\nname.ts', "runaway", 1],
        ],
      );
    });

    t.test(`${mode}: a pool with no workers still parses`, async (t) => {
      const families = parse(python, mode, renderStatus(snapshot({ processes: [], totalProcesses: 0 }), `${mode}&full`).body);
      t.same(family(families, "tscgi_process_requests").samples, []);
    });
  }

  t.test("OpenMetrics without # EOF is refused: the parser is strict", async (t) => {
    const body = renderStatus(snapshot(), "openmetrics").body.replace("# EOF\n", "");
    t.throws(() => parse(python, "openmetrics", body));
  });
});
