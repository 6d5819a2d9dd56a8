// conf/k8s/*.yaml parse, hold what docs/scale-out.md promises, and agree with tscgi's config and --help.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { bin, repo } from "../helpers/tscgi.ts";

const dir = fileURLToPath(new URL("../../conf/k8s/", import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));

// Debian's python3-yaml parses without an npm dependency; without it, a structural check stands in.
const hasPyYaml = spawnSync("python3", ["-c", "import yaml"]).status === 0;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

function parse(file: string): Doc[] {
  const out = spawnSync("python3", ["-c", "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", file], {
    encoding: "utf8",
  });
  if (out.status !== 0) throw new Error(`${file} does not parse as YAML:\n${out.stderr}`);
  return JSON.parse(out.stdout) as Doc[];
}

t.test("every manifest is a list of Kubernetes objects", async (t) => {
  t.ok(files.length >= 3, `conf/k8s has manifests (${files.join(", ")})`);
  for (const file of files) {
    const text = readFileSync(join(dir, file), "utf8");
    t.notOk(/^\t/m.test(text), `${file} indents with spaces`);
    const docs = text.split(/^---$/m);
    for (const doc of docs)
      t.match(doc, /^apiVersion: \S+$[\s\S]*^kind: \w+$[\s\S]*^metadata:$/m, `${file}: each document has apiVersion, kind, metadata`);
  }
});

t.test(
  "the manifests parse and agree with each other and with tscgi",
  { skip: hasPyYaml ? false : "python3-yaml is not installed: only the structural check ran" },
  async (t) => {
    const docs = files.flatMap((f) => parse(join(dir, f)));
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    for (const kind of ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Secret"]) t.ok(byKind(kind).length > 0, `a ${kind}`);

    const deployment = byKind("Deployment").find((d) => d.metadata.name === "tscgi")!;
    const pod = deployment.spec.template.spec;
    const containers = pod.containers as Doc[];
    const tscgi = containers.find((c) => c.name === "tscgi")!;
    t.ok(
      containers.some((c) => c.name === "nginx"),
      "nginx runs as a sidecar",
    );

    // The grace period covers the preStop sleep and the whole drain, or the kubelet kills mid-request.
    const conf = byKind("ConfigMap").find((d) => d.metadata.name === "tscgi-conf")!.data["tscgi.conf"] as string;
    const shutdown = Number(/^shutdown_timeout = (\d+)s$/m.exec(conf)?.[1]);
    const preStop = Number(tscgi.lifecycle.preStop.exec.command[1]);
    t.ok(shutdown > 0, `shutdown_timeout is set (${shutdown}s)`);
    t.ok(
      pod.terminationGracePeriodSeconds > shutdown + preStop,
      `grace ${pod.terminationGracePeriodSeconds}s > shutdown_timeout ${shutdown}s + preStop ${preStop}s`,
    );
    t.match(conf, /^session_store = redis$/m, "sessions in Redis");
    const redisHost = /^session_redis_url = redis:\/\/([\w.-]+):\d+$/m.exec(conf)?.[1];
    t.ok(
      byKind("Service").some((s) => s.metadata.name === redisHost),
      `session_redis_url names the ${redisHost} Service`,
    );

    // The probe command is one tscgi --help lists.
    const help = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" }).stdout;
    for (const probe of [tscgi.readinessProbe, tscgi.livenessProbe]) {
      const command = probe.exec.command as string[];
      t.same(command.slice(0, 2), ["tscgi", "ping"], "probes run tscgi ping");
      t.ok(help.includes(`tscgi ping [--timeout`), "tscgi --help lists tscgi ping");
      const timeout = Number(/^(\d+)s$/.exec(command[3])?.[1]);
      t.ok(probe.timeoutSeconds > timeout, `the probe's timeoutSeconds (${probe.timeoutSeconds}) outlasts --timeout ${command[3]}`);
    }

    // The cookie secret comes from the Secret, under the key the Secret has.
    const secretRef = (tscgi.env as Doc[]).find((e) => e.name === "TSCGI_COOKIE_SECRET")!.valueFrom.secretKeyRef;
    const secret = byKind("Secret").find((s) => s.metadata.name === secretRef.name)!;
    t.ok(secretRef.key in secret.stringData, `the Secret ${secretRef.name} has ${secretRef.key}`);
    const pdb = byKind("PodDisruptionBudget")[0];
    t.same(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels, "the PodDisruptionBudget selects the tscgi pods");

    // tscgi accepts the ConfigMap's tscgi.conf.
    const tmp = mkdtempSync(join(tmpdir(), "tscgi-k8s-"));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    writeFileSync(join(tmp, "tscgi.conf"), conf);
    const check = spawnSync(process.execPath, [bin, "-t", "-c", join(tmp, "tscgi.conf")], {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, TSCGI_COOKIE_SECRET: "k8s-test-secret-0123456789abcdefghijkl" },
    });
    t.equal(check.status, 0, `tscgi -t accepts tscgi-conf's tscgi.conf: ${check.stdout}${check.stderr}`);
  },
);
