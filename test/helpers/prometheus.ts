// A real Prometheus / OpenMetrics parser: Debian's python3-prometheus-client, run as a child.
import { spawnSync } from "node:child_process";

const PARSE = `
import json, sys
if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

/** The first interpreter that has both parsers: pyenv's python3 may shadow Debian's. */
export function findPython(): string | null {
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(candidate, ["-c", "import prometheus_client.parser, prometheus_client.openmetrics.parser"], { encoding: "utf8" });
    if (r.status === 0) return candidate;
  }
  return null;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export function parseMetrics(python: string, mode: "prometheus" | "openmetrics", text: string): ParsedFamily[] {
  const r = spawnSync(python, ["-c", PARSE, mode], { input: text, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the ${mode} parser rejected the text:\n${r.stderr}\n---\n${text}`);
  return JSON.parse(r.stdout) as ParsedFamily[];
}

export function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (found === undefined) throw new Error(`no family ${name} in ${families.map((f) => f.name).join(", ")}`);
  return found;
}

export const pythonMissing = "python3 with prometheus_client not found (apt-get install -y python3-prometheus-client)";
