// After merging: "auto" spare servers and percentage jitter become numbers, and keys that must
// agree are checked together, each conflict naming every key involved with its value and origin.

import t, { type Test } from "tap";
import { availableParallelism } from "node:os";
import { ConfigConflictError, ConfigError } from "../../src/config/errors.ts";
import { loadConfig } from "../../src/config/load.ts";
import { type Config } from "../../src/config/types.ts";
import { autoMaxSpare, autoStartServers } from "../../src/config/resolve.ts";
import { isTscgiError } from "../../src/errors.ts";
import { failure, project } from "../helpers/config.ts";

function load(t: Test, argv: string[], conf?: string): Config {
  return loadConfig({ argv, env: {}, cwd: project(t, conf) }).config;
}

t.test("PHP-FPM's start_servers formula, and half the workers for max_spare", async (t) => {
  t.equal(autoStartServers(1, 3), 2);
  t.equal(autoStartServers(2, 7), 4, "rounded down");
  t.equal(autoStartServers(5, 5), 5);
  t.equal(autoMaxSpare(8, 1), 4);
  t.equal(autoMaxSpare(7, 1), 4, "rounded up");
  t.equal(autoMaxSpare(1, 1), 1);
  t.equal(autoMaxSpare(8, 6), 6, "never below the minimum");
  t.equal(autoMaxSpare(0, 1), 1);
});

t.test("auto values resolve to numbers from the other keys", async (t) => {
  const config = load(t, ["--pm", "dynamic", "--workers", "10", "--pm-min-spare-servers", "2"]);
  t.equal(config.pm_max_spare_servers, 5);
  t.equal(config.pm_start_servers, 3);
  const explicit = load(t, ["--pm", "dynamic", "--workers", "10", "--pm-max-spare-servers", "9"]);
  t.equal(explicit.pm_start_servers, 5, "1 + floor((9 - 1) / 2)");
  const cpus = load(t, ["--workers", "auto"]);
  t.equal(cpus.workers, Math.min(1024, availableParallelism()));
  t.equal(cpus.pm_max_spare_servers, Math.max(1, Math.ceil(cpus.workers / 2)));
});

t.test("max_requests_jitter becomes whole requests", async (t) => {
  t.equal(load(t, ["--max-requests", "1000"]).max_requests_jitter, 100, "10% by default");
  t.equal(load(t, ["--max-requests", "1000", "--max-requests-jitter", "25"]).max_requests_jitter, 25);
  t.equal(load(t, ["--max-requests", "1000", "--max-requests-jitter", "2.5%"]).max_requests_jitter, 25);
  t.equal(load(t, ["--max-requests", "15", "--max-requests-jitter", "10%"]).max_requests_jitter, 2, "1.5 rounds to 2");
  t.equal(load(t, ["--max-requests", "3", "--max-requests-jitter", "10%"]).max_requests_jitter, 0, "0.3 rounds to 0");
  t.equal(load(t, ["--max-requests", "7", "--max-requests-jitter", "100%"]).max_requests_jitter, 7);
  t.equal(load(t, ["--max-requests-jitter", "50"]).max_requests_jitter, 0, "nothing to spread when max_requests is 0");
  t.equal(load(t, ["--max-requests", "1000", "--max-requests-jitter", "0"]).max_requests_jitter, 0);
});

t.test("a dynamic pool whose counts fit loads", async (t) => {
  const config = load(t, [], "pm = dynamic\nworkers = 8\npm_min_spare_servers = 2\npm_start_servers = 3\npm_max_spare_servers = 8\n");
  t.match(config, { pm: "dynamic", workers: 8, pm_min_spare_servers: 2, pm_start_servers: 3, pm_max_spare_servers: 8 });
  t.ok(load(t, ["--pm", "dynamic", "--workers", "1"]), "one worker: min = start = max = 1");
});

t.test("min above max names pm, both keys, their values and origins", async (t) => {
  const cwd = project(t, "pm = dynamic\nworkers = 8\npm_min_spare_servers = 5\n");
  const error = failure(() => loadConfig({ argv: ["--pm-max-spare-servers", "3"], env: {}, cwd }));
  t.type(error, ConfigConflictError);
  t.type(error, ConfigError);
  t.ok(isTscgiError(error));
  t.match(error, { code: "TSCGI_E_CONFIG_CONFLICT", keys: ["pm", "pm_min_spare_servers", "pm_max_spare_servers"] });
  t.equal(
    error.message,
    'conflicting values: pm "dynamic" in conf/tscgi.conf:1, pm_min_spare_servers "5" in conf/tscgi.conf:3, ' +
      'pm_max_spare_servers "3" in flag --pm-max-spare-servers (expected pm_min_spare_servers <= pm_max_spare_servers when pm is dynamic)',
  );
});

t.test("max above workers names pm, pm_max_spare_servers and workers", async (t) => {
  const cwd = project(t, "pm = dynamic\npm_max_spare_servers = 8\n");
  const error = failure(() => loadConfig({ argv: ["--workers", "4"], env: {}, cwd }));
  t.match(error, { code: "TSCGI_E_CONFIG_CONFLICT", keys: ["pm", "pm_max_spare_servers", "workers"] });
  t.equal(
    error.message,
    'conflicting values: pm "dynamic" in conf/tscgi.conf:1, pm_max_spare_servers "8" in conf/tscgi.conf:2, ' +
      'workers "4" in flag --workers (expected 1 <= pm_min_spare_servers <= pm_max_spare_servers <= workers when pm is dynamic)',
  );
});

t.test("an auto max pushed above workers by the minimum names the minimum too, and what auto came to", async (t) => {
  const cwd = project(t);
  const env = { TSCGI_PM: "dynamic", TSCGI_WORKERS: "4", TSCGI_PM_MIN_SPARE_SERVERS: "6" };
  const error = failure(() => loadConfig({ argv: [], env, cwd }));
  t.match(error, { code: "TSCGI_E_CONFIG_CONFLICT", keys: ["pm", "pm_min_spare_servers", "pm_max_spare_servers", "workers"] });
  t.equal(
    error.message,
    'conflicting values: pm "dynamic" in environment variable TSCGI_PM, ' +
      'pm_min_spare_servers "6" in environment variable TSCGI_PM_MIN_SPARE_SERVERS, pm_max_spare_servers "auto" (= 6) in the default, ' +
      'workers "4" in environment variable TSCGI_WORKERS (expected 1 <= pm_min_spare_servers <= pm_max_spare_servers <= workers when pm is dynamic)',
  );
});

t.test("start outside min..max names the three spare-server keys", async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ["--pm-start-servers", "1", "--pm-min-spare-servers", "2"],
      /pm_start_servers "1" in flag --pm-start-servers, pm_min_spare_servers "2" in flag --pm-min-spare-servers, pm_max_spare_servers "auto" \(= 4\) in the default/,
    ],
    [
      ["--pm-start-servers", "6", "--pm-max-spare-servers", "5"],
      /pm_start_servers "6" in flag --pm-start-servers, pm_min_spare_servers "1" in the default, pm_max_spare_servers "5" in flag/,
    ],
  ];
  for (const [argv, message] of cases) {
    const error = failure(() => load(t, ["--pm", "dynamic", "--workers", "8", ...argv]));
    t.match(
      error,
      { code: "TSCGI_E_CONFIG_CONFLICT", keys: ["pm", "pm_start_servers", "pm_min_spare_servers", "pm_max_spare_servers"], message },
      argv.join(" "),
    );
    t.match(error.message, /\(expected pm_min_spare_servers <= pm_start_servers <= pm_max_spare_servers when pm is dynamic\)$/);
  }
});

t.test("a workers value of auto shows what it came to", async (t) => {
  const cpus = Math.min(1024, availableParallelism());
  const error = failure(() => load(t, ["--pm", "dynamic", "--pm-max-spare-servers", String(cpus + 1)]));
  t.match(error.message, new RegExp(`workers "auto" \\(= ${cpus}\\) in the default`));
});

t.test("spare-server counts are ignored unless pm is dynamic, and with workers = 0", async (t) => {
  const odd = ["--pm-min-spare-servers", "9", "--pm-max-spare-servers", "2", "--pm-start-servers", "20", "--workers", "4"];
  t.equal(load(t, ["--pm", "static", ...odd]).pm, "static");
  t.equal(load(t, ["--pm", "ondemand", ...odd]).pm, "ondemand");
  t.equal(load(t, ["--pm", "dynamic", ...odd, "--workers", "0"]).workers, 0, "0 is one process whatever pm says");
  t.equal(load(t, ["--pm", "ondemand", "--workers", "0"]).workers, 0);
});

t.test("status_path and ping_path must differ", async (t) => {
  const error = failure(() => load(t, ["--status-path", "/fpm", "--ping-path", "/fpm"]));
  t.match(error, { code: "TSCGI_E_CONFIG_CONFLICT", keys: ["status_path", "ping_path"] });
  t.equal(
    error.message,
    'conflicting values: status_path "/fpm" in flag --status-path, ping_path "/fpm" in flag --ping-path ' +
      "(expected two different paths (or off) for the status and ping pages)",
  );
  t.match(load(t, ["--status-path", "/status", "--ping-path", "/ping"]), { status_path: "/status", ping_path: "/ping" });
  t.match(load(t, []), { status_path: null, ping_path: null }, "both off is no conflict");
});

t.test("listen_owner and listen_group names become ids; an unknown name names the key", async (t) => {
  t.match(load(t, ["--listen-owner", "root", "--listen-group", "root"]), { listen_owner: 0, listen_group: 0 });
  t.match(load(t, [], "listen_owner = 1000\nlisten_group = 1000\n"), { listen_owner: 1000, listen_group: 1000 });
  const error = failure(() => load(t, [], "listen_owner = no-such-user-tscgi\n"));
  t.equal(
    error.message,
    'bad value for listen_owner in conf/tscgi.conf:1: "no-such-user-tscgi" ' +
      '(expected a user name from /etc/passwd, a numeric id, or "" for the process\'s own; no user named no-such-user-tscgi in /etc/passwd)',
  );
  t.match(
    failure(() => load(t, ["--listen-group", "no-such-group-tscgi"])),
    { code: "TSCGI_E_CONFIG_BAD_VALUE", key: "listen_group" },
  );
});

t.test("a name overridden by a higher source is not looked up", async (t) => {
  t.equal(load(t, ["--listen-owner", "0"], "listen_owner = no-such-user-tscgi\n").listen_owner, 0);
});

t.test("listen_mode from a file or a JSON number is octal", async (t) => {
  t.equal(load(t, [], "listen_mode = 0600\n").listen_mode, 0o600);
  const cwd = t.testdir({ "cgi-bin": {}, "t.json": '{"listen_mode": 660}' });
  t.equal(loadConfig({ argv: ["-c", "t.json"], env: {}, cwd }).config.listen_mode, 0o660);
});

t.test("client lists load as ClientList, any as null", async (t) => {
  const config = load(t, ["--allowed-clients", "10.0.0.0/8 ::1"]);
  t.same(config.allowed_clients?.entries, ["10.0.0.0/8", "::1"]);
  t.equal(load(t, []).allowed_clients, null);
  t.same(load(t, []).status_allowed_clients?.entries, ["127.0.0.1", "::1"]);
});

t.test("max_pending_params_bytes below max_params_bytes names both keys", async (t) => {
  t.throws(() => load(t, ["--max-params-bytes", "1m"]), {
    code: "TSCGI_E_CONFIG_CONFLICT",
    message: /max_pending_params_bytes.*max_params_bytes.*max_pending_params_bytes >= max_params_bytes/s,
  });
  t.equal(load(t, ["--max-params-bytes", "1m", "--max-pending-params-bytes", "4m"]).max_pending_params_bytes, 4 * 1024 * 1024);
});
