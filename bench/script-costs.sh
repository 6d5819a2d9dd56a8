#!/usr/bin/env bash
# tscgi's CPU a request by the way a script reads its request: cgi.env, cgi.query, cgi.signal,
# cgi.request, cgi.form(), a 64 KiB body read whole. One worker, loaded over FastCGI by
# bench/fcgi-load.mjs with no web server in between, so the worker's own cost is all that varies:
# through nginx the same rows differ by 20-40 % from run to run, here by about 10 %. See
# bench/README.md. Every process started here is stopped here, by pid; exits 0 whatever the
# numbers say, 1 only when tscgi cannot be started or a load fails.
set -euo pipefail

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_TAG=script-costs
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

ROUNDS=${BENCH_COSTS_ROUNDS:-3}
REQUESTS=${BENCH_COSTS_REQUESTS:-20000}
CONNS=${BENCH_COSTS_CONNS:-32}
is_uint "$ROUNDS" && ((ROUNDS > 0)) || die "BENCH_COSTS_ROUNDS must be a positive number, got '$ROUNDS'"
is_uint "$REQUESTS" && ((REQUESTS > 0)) || die "BENCH_COSTS_REQUESTS must be a positive number, got '$REQUESTS'"
is_uint "$CONNS" && ((CONNS > 0)) || die "BENCH_COSTS_CONNS must be a positive number, got '$CONNS'"
[ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-costs.XXXXXX")
PIDS=()
trap stop_tscgi_run EXIT

mkdir -p "$RUN/cgi-bin"
cp "$BENCH/cgi-bin/hello.ts" "$BENCH/cgi-bin/form.ts" "$RUN/cgi-bin/"
cat >"$RUN/cgi-bin/env.ts" <<'EOF'
import type { Cgi } from "tscgi";
export default (cgi: Cgi) => `Hello, ${cgi.env.HTTP_USER_AGENT}`;
EOF
cat >"$RUN/cgi-bin/query.ts" <<'EOF'
import type { Cgi } from "tscgi";
export default (cgi: Cgi) => `Hello, ${cgi.query.get("name") ?? "world"}`;
EOF
cat >"$RUN/cgi-bin/signal.ts" <<'EOF'
import type { Cgi } from "tscgi";
export default (cgi: Cgi) => (cgi.signal.aborted ? "gone" : "Hello, world");
EOF
cat >"$RUN/cgi-bin/request.ts" <<'EOF'
import type { Cgi } from "tscgi";
export default (cgi: Cgi) => `Hello, ${cgi.request.headers.get("user-agent")}`;
EOF
cat >"$RUN/cgi-bin/bytes.ts" <<'EOF'
import type { Cgi } from "tscgi";
export default async (cgi: Cgi) => `bytes: ${(await cgi.request.arrayBuffer()).byteLength}`;
EOF
printf 'a=alpha&b=bravo&c=charlie&d=delta&e=echo&f=foxtrot&g=golf&h=hotel&i=india&j=juliett' >"$RUN/form.body"
head -c 65536 /dev/zero >"$RUN/64k.body"

read -r P_FCGI <<<"$(free_ports 1)"
log "starting tscgi: 1 worker"
(
  cd "$RUN"
  exec node "$ROOT/bin/tscgi.js" serve --listen "127.0.0.1:$P_FCGI" --root "$RUN/cgi-bin" --workers 1 --pm static --access-log off
) >>"$RUN/tscgi.log" 2>&1 &
TSCGI_PID=$!
PIDS+=("$TSCGI_PID")
for _ in $(seq 200); do
  ss -ltn 2>/dev/null | grep -q "127.0.0.1:$P_FCGI " && break
  kill -0 "$TSCGI_PID" 2>/dev/null || { tail_log "$RUN/tscgi.log"; die "tscgi exited before listening"; }
  sleep 0.05
done
WORKER=$(children_of "$TSCGI_PID")
[ -n "$WORKER" ] || die "tscgi has no worker"

# name|what the script does|path|body file|content type
ROWS=(
  "hello|returns a string|/hello||"
  "env|reads a header from cgi.env|/env||"
  "query|reads cgi.query|/query||"
  "signal|reads cgi.signal|/signal||"
  "request|reads a header from cgi.request|/request||"
  "form|cgi.form(), 10 urlencoded fields|/form|$RUN/form.body|application/x-www-form-urlencoded"
  "bytes|cgi.request.arrayBuffer() of 64 KiB|/bytes|$RUN/64k.body|application/octet-stream"
)

load() { # path body type count
  local args=("$BENCH/fcgi-load.mjs" "$P_FCGI" "$4" "$CONNS" "$1")
  [ -z "$2" ] || args+=("$2" "$3")
  node "${args[@]}"
}

log "warming up: $((REQUESTS / 2)) requests to each script"
for row in "${ROWS[@]}"; do
  IFS='|' read -r _ _ path body type <<<"$row"
  load "$path" "$body" "$type" $((REQUESTS / 2)) >/dev/null || die "the load on $path failed"
done

declare -A CPU RATE
for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r of $ROUNDS: $REQUESTS requests to each script over $CONNS connections"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name _ path body type <<<"$row"
    before=$(ticks_sum "$WORKER")
    out=$(load "$path" "$body" "$type" "$REQUESTS") || die "the load on $path failed"
    after=$(ticks_sum "$WORKER")
    CPU[$name]+="$(per_request_us $((after - before)) "$REQUESTS") "
    RATE[$name]+="$(awk -v o="$out" 'BEGIN { split(o, f, " "); printf "%.0f", f[2] / f[4] }') "
  done
done

median() { tr ' ' '\n' | awk 'NF' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
HELLO=$(median <<<"${CPU[hello]}")
echo "## What a script's way of reading its request costs"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, node $(node --version); tscgi with 1 worker, loaded over FastCGI by bench/fcgi-load.mjs ($CONNS kept connections, no web server), $ROUNDS rounds of $REQUESTS requests to each script in turn after a warm-up."
echo
echo "| script | what it does | worker CPU a request (median; each round) | over hello | req/s (median) |"
echo "|---|---|---|---:|---:|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name what _ _ _ <<<"$row"
  cpu=$(median <<<"${CPU[$name]}")
  rounds=$(echo "${CPU[$name]}" | xargs | sed 's/ /, /g')
  printf '| %s | %s | %.1f µs (%s) | %+.1f µs | %.0f |\n' "$name" "$what" "$cpu" "$rounds" \
    "$(awk -v a="$cpu" -v b="$HELLO" 'BEGIN { print a - b }')" "$(median <<<"${RATE[$name]}")"
done
echo
echo "The client runs beside the worker on the same cores; the CPU figures are the worker's alone (utime + stime from /proc)."

}
