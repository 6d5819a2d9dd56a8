#!/usr/bin/env bash
# tscgi's first request: a new script, an edited script, and a script after its worker was
# recycled (max_requests), each timed from request sent to response through nginx on a warm pool.
# See bench/README.md. Every process started here is stopped here, by pid; exits 0 whatever the
# numbers say, 1 only when a component cannot be started.
set -euo pipefail

{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_TAG=first-request
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

ROUNDS=${BENCH_FIRST_ROUNDS:-5}
# A worker is replaced after this many requests; the rounds send that many to force each recycle.
RECYCLE_AFTER=${BENCH_FIRST_RECYCLE_AFTER:-50}
OUT=${BENCH_FIRST_OUT:-${TMPDIR:-/tmp}/tscgi-bench-first-request.md}
GOAL_MS=30

is_uint "$ROUNDS" && ((ROUNDS > 0)) || die "BENCH_FIRST_ROUNDS must be a positive number, got '$ROUNDS'"
is_uint "$RECYCLE_AFTER" && ((RECYCLE_AFTER > 1)) || die "BENCH_FIRST_RECYCLE_AFTER must be a number over 1, got '$RECYCLE_AFTER'"
command -v nginx >/dev/null || die "nginx is not installed"
[ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-first.XXXXXX")
PIDS=()
trap stop_tscgi_run EXIT

read -r P_FCGI P_FRONT <<<"$(free_ports 2)"
mkdir -p "$RUN/cgi-bin" "$RUN/nginx-tmp"
cp "$BENCH/cgi-bin/hello.ts" "$RUN/cgi-bin/hello.ts"

# One worker, so the request after a recycle reaches the replacement and no older sibling.
log "starting tscgi: 1 worker, max_requests $RECYCLE_AFTER"
(
  cd "$RUN"
  exec node "$ROOT/bin/tscgi.js" serve --listen "127.0.0.1:$P_FCGI" --root "$RUN/cgi-bin" --workers 1 --pm static \
    --max-requests "$RECYCLE_AFTER" --max-requests-jitter 0 --access-log off
) >>"$RUN/tscgi.log" 2>&1 &
TSCGI_PID=$!
PIDS+=("$TSCGI_PID")

write_fastcgi_params "$RUN/fastcgi_params"
{
  nginx_conf_head "$RUN"
  cat <<EOF
  server {
    listen 127.0.0.1:$P_FRONT;
    location / {
      include $RUN/fastcgi_params;
      # Upstream keepalive 0: a new FastCGI connection per request, PHP's usual setup.
      fastcgi_pass 127.0.0.1:$P_FCGI;
    }
  }
}
EOF
} >"$RUN/nginx.conf"
nginx -c "$RUN/nginx.conf" -p "$RUN" -g 'daemon off;' >>"$RUN/nginx.out" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")

BASE="http://127.0.0.1:$P_FRONT"
wait_ok "$BASE/hello" "$TSCGI_PID" tscgi || { tail_log "$RUN/tscgi.log"; die "tscgi did not start"; }
wait_ok "$BASE/hello" "$NGINX_PID" nginx || { tail_log "$RUN/nginx-error.log"; die "nginx did not start"; }

# get PATH: "MS BODY" of one request; MS from sending it to the end of the response.
get() { curl -s --max-time 10 -w '\n%{time_total}' "$BASE$1" | awk '{ lines[NR] = $0 } END { printf "%.1f %s\n", lines[NR] * 1000, lines[1] }'; }

# script NAME TEXT: a script like the ones a site has (imports from tscgi, a template literal).
script() {
  cat >"$RUN/cgi-bin/$1.ts.tmp" <<EOF
import { html, type Cgi } from "tscgi";
export default function (cgi: Cgi) {
  return html\`<p>$2 \${cgi.query.get("name") ?? "world"}</p>\`;
}
EOF
  # A rename: the watcher never sees a half-written file.
  mv "$RUN/cgi-bin/$1.ts.tmp" "$RUN/cgi-bin/$1.ts"
}

# first_with PATH TEXT: the time of the first answer whose body has TEXT; an edit reaches the
# worker through its file watcher, so an answer before that is the old version (not counted).
first_with() {
  local i answer
  for ((i = 0; i < 200; i++)); do
    answer=$(get "$1")
    if [[ $answer == *"$2"* ]]; then
      echo "${answer%% *}"
      return 0
    fi
  done
  echo "-"
}

# recycles: the master's "finished (max_requests" lines so far.
recycles() { grep -c 'finished (max_requests' "$RUN/tscgi.log" || true; }

# A warm pool: the running worker has served hello for a while.
for ((i = 0; i < 20; i++)); do get /hello >/dev/null; done

NEW=() EDITED=() RECYCLED=() RECYCLED_HELLO=()
for ((r = 1; r <= ROUNDS; r++)); do
  script "page$r" "new $r"
  NEW+=("$(first_with "/page$r" "new $r")")
  script "page$r" "edited $r"
  EDITED+=("$(first_with "/page$r" "edited $r")")
  before=$(recycles)
  for ((i = 0; i < RECYCLE_AFTER * 3 && $(recycles) == before; i++)); do get /hello >/dev/null; done
  [ "$(recycles)" != "$before" ] || die "no worker was recycled after $((RECYCLE_AFTER * 3)) requests"
  RECYCLED+=("$(first_with "/page$r" "edited $r")")
  RECYCLED_HELLO+=("$(first_with /hello Hello)")
done

# stats VALUES...: "median max" in ms ("-" for an answer that never came).
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f %.1f", v[int((NR + 1) / 2)], v[NR] }'; }
row() { # label values...
  local label=$1 median max verdict
  shift
  read -r median max <<<"$(stats "$@")"
  verdict=$(awk -v m="$max" -v g="$GOAL_MS" 'BEGIN { print (m <= g ? "PASS" : "MISS") }')
  echo "| $label | $median | $max | $* | $verdict |"
}
{
  echo "## First request (through nginx, upstream keepalive 0, 1 worker, $ROUNDS rounds)"
  echo
  echo "Time from request sent to response end (curl), warm pool; target: at most $GOAL_MS ms."
  echo
  echo "| first request | median ms | max ms | each round | ≤ $GOAL_MS ms |"
  echo "|---|---:|---:|---|---|"
  row "new script" "${NEW[@]}"
  row "edited script" "${EDITED[@]}"
  row "after a recycle, a script its predecessor loaded" "${RECYCLED[@]}"
  row "after a recycle, hello.ts" "${RECYCLED_HELLO[@]}"
  echo
  echo "For scale: a request to a loaded script takes $(stats "$(get /hello | cut -d' ' -f1)" | cut -d' ' -f1) ms here."
} | tee "$OUT"
log "report written to $OUT"
exit 0
}
