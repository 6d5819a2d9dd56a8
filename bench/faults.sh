#!/usr/bin/env bash
# tscgi fault benchmark: requests lost while the pool is reloaded, recycled, loses a worker to
# kill -9, and runs a script that calls process.exit(), side by side with PHP-FPM behind the same
# nginx, GET and POST apart. See bench/README.md ("Faults").
#
# Everything runs on 127.0.0.1, on free ports, with configs in a temporary directory; each run
# starts its server afresh and every process started here is stopped here, by pid. Exits 0 whatever
# the counts say (it is a measurement); exits 1 only when nginx or tscgi cannot be started.
set -euo pipefail

# One brace group, read entirely before any of it runs: editing this file during a run cannot
# change what that run executes.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_TAG="bench faults"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DURATION=${BENCH_FAULTS_DURATION:-15}
CONNS=${BENCH_FAULTS_CONNS:-64}
SCENARIOS=${BENCH_FAULTS_SCENARIOS:-baseline reload recycle kill exit}
METHODS=${BENCH_FAULTS_METHODS:-GET POST}
TARGETS=${BENCH_FAULTS_TARGETS:-tscgi php-fpm}
CLIENT=${BENCH_FAULTS_CLIENT:-auto}
BODY_BYTES=${BENCH_FAULTS_BODY_BYTES:-1024}
OUT=${BENCH_FAULTS_OUT:-${TMPDIR:-/tmp}/tscgi-bench-faults-latest.md}
KEEP=${BENCH_KEEP:-0}

# The faults and their sizes.
WORKERS=2        # tscgi --workers, PHP-FPM pm.max_children (pm static)
RELOADS=4        # SIGHUP (tscgi) / SIGUSR2 (PHP-FPM), evenly spread over the run
RECYCLES=8       # the recycle run ends after this many; max_requests is sized from the baseline
EXIT_FIRST_S=2   # GET /exit once a second from this second of the run ...
EXIT_HITS=10     # ... this many times
KILL_WINDOW_S=2  # nginx errors this long after the kill -9 count as the killed worker's requests
WRK_TIMEOUT_S=10 # an answer slower than this is a failed request (a timeout)
SETTLE_MS=1000   # the load goes on this long after the fault is over and the pool is back

is_uint "$DURATION" && ((DURATION >= EXIT_FIRST_S + EXIT_HITS + 1 && DURATION <= 120)) ||
  die "BENCH_FAULTS_DURATION must be $((EXIT_FIRST_S + EXIT_HITS + 1)) to 120 seconds, got '$DURATION'"
# A run lasts DURATION seconds, or longer until its fault is over, but never past this.
CAP_S=$((DURATION * 4))
is_uint "$CONNS" && ((CONNS > 0 && CONNS <= 4096)) || die "BENCH_FAULTS_CONNS must be 1 to 4096, got '$CONNS'"
is_uint "$BODY_BYTES" && ((BODY_BYTES <= 1048576)) || die "BENCH_FAULTS_BODY_BYTES must be 0 to 1048576, got '$BODY_BYTES'"
for s in $SCENARIOS; do
  case $s in baseline | reload | recycle | kill | exit) ;; *) die "unknown scenario '$s' in BENCH_FAULTS_SCENARIOS (baseline reload recycle kill exit)" ;; esac
done
for m in $METHODS; do [[ $m == GET || $m == POST ]] || die "BENCH_FAULTS_METHODS must list GET and/or POST, got '$METHODS'"; done
for t in $TARGETS; do [[ $t == tscgi || $t == php-fpm ]] || die "BENCH_FAULTS_TARGETS must list tscgi and/or php-fpm, got '$TARGETS'"; done
[[ $CLIENT == auto || $CLIENT == wrk || $CLIENT == node ]] || die "BENCH_FAULTS_CLIENT must be auto, wrk or node, got '$CLIENT'"
[ -n "$SCENARIOS" ] && [ -n "$METHODS" ] && [ -n "$TARGETS" ] || die "BENCH_FAULTS_SCENARIOS, _METHODS and _TARGETS must not be empty"
# recycle sizes max_requests from the baseline run, so the baseline runs first whenever either runs.
ordered=
if [[ " $SCENARIOS " == *" recycle "* || " $SCENARIOS " == *" baseline "* ]]; then ordered=baseline; fi
for s in $SCENARIOS; do [[ " $ordered " == *" $s "* ]] || ordered+=" $s"; done
SCENARIOS=${ordered# }

NOTES=()

# ---------------------------------------------------------------------------------------------
# Tools: nginx and curl are needed (installed when missing); PHP-FPM and wrk are optional.

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if ((${#missing[@]})); then install_missing "${missing[@]}"; fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found after install"

RUN_TARGETS=()
for t in $TARGETS; do
  if [ "$t" = php-fpm ]; then
    if PHP_FPM=$(find_php_fpm); then
      RUN_TARGETS+=(php-fpm)
    else
      log "PHP-FPM not found (BENCH_PHP_FPM, php-fpm8.2): its column is skipped"
      NOTES+=("PHP-FPM was not found (install php8.2-fpm, or set BENCH_PHP_FPM): its column is skipped")
    fi
  else
    [ -f "$ROOT/bin/tscgi.js" ] && [ -f "$ROOT/dist/cli.js" ] || die "tscgi is not built (npm run build)"
    RUN_TARGETS+=(tscgi)
  fi
done
((${#RUN_TARGETS[@]})) || die "nothing to run: no target of BENCH_FAULTS_TARGETS ($TARGETS) is available"

if [ "$CLIENT" = auto ]; then
  if command -v wrk >/dev/null 2>&1; then CLIENT=wrk; else
    CLIENT=node
    log "wrk not found: the load comes from bench/load.mjs"
    NOTES+=("wrk was not found: the load came from bench/load.mjs (node:http, keep-alive), which sends fewer requests per second than wrk")
  fi
elif [ "$CLIENT" = wrk ] && ! command -v wrk >/dev/null 2>&1; then
  die "BENCH_FAULTS_CLIENT=wrk, but wrk is not installed"
fi

# conf/nginx.conf's upstream keepalive, so the bench keeps what users are told to set.
KEEPALIVE=$(awk '$1 == "keepalive" { sub(/;.*/, "", $2); print $2; exit }' "$ROOT/conf/nginx.conf" 2>/dev/null || true)
is_uint "${KEEPALIVE:-x}" || KEEPALIVE=256

# ---------------------------------------------------------------------------------------------
# Run directory and cleanup.

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench-faults.XXXXXX")
chmod 755 "$RUN"
PIDS=()
CLIENT_PID=
EXIT_PIDS=()
declare -A MASTER

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null
  local p
  for p in "${EXIT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  local kids=()
  if [ -n "${MASTER[tscgi]:-}" ]; then
    for p in $(children_of "${MASTER[tscgi]}"); do kids+=("$p"); done
  fi
  if ((${#PIDS[@]})); then
    # Reverse start order: the backend of the current run, then nginx.
    local rev=() i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do rev+=("${PIDS[i]}"); done
    stop_pids "${rev[@]}"
  fi
  ((${#kids[@]})) && stop_workers "${kids[@]}"
  if [ "$KEEP" = 1 ] || ((rc == 1)); then
    log "run directory kept: $RUN"
  else
    rm -rf "$RUN"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2207
PORTS=($(free_ports 4))
((${#PORTS[@]} == 4)) || die "could not find free ports"
declare -A FRONT BACK URL EXIT_URL NAME
FRONT[tscgi]=${PORTS[0]} BACK[tscgi]=${PORTS[1]} FRONT[php-fpm]=${PORTS[2]} BACK[php-fpm]=${PORTS[3]}
URL[tscgi]="http://127.0.0.1:${FRONT[tscgi]}/hello" EXIT_URL[tscgi]="http://127.0.0.1:${FRONT[tscgi]}/exit"
URL[php-fpm]="http://127.0.0.1:${FRONT[php-fpm]}/hello.php" EXIT_URL[php-fpm]="http://127.0.0.1:${FRONT[php-fpm]}/exit.php"
NAME[tscgi]=tscgi NAME[php-fpm]=PHP-FPM

# ---------------------------------------------------------------------------------------------
# nginx: tscgi as conf/nginx.conf sets it up (upstream keepalive, fastcgi_keep_conn on); PHP-FPM
# as PHP's snippets do (try_files, a connection per request). Each server its own error log.

mkdir -p "$RUN/nginx-tmp"
write_fastcgi_params "$RUN/fastcgi_params"
{
  nginx_conf_head "$RUN"
  cat <<EOF

  upstream tscgi {
    server 127.0.0.1:${BACK[tscgi]};
    keepalive $KEEPALIVE;
  }
  server {
    listen 127.0.0.1:${FRONT[tscgi]};
    root $BENCH/cgi-bin;
    error_log $RUN/nginx-tscgi.log warn;
    location / {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_pass tscgi;
    }
  }

  upstream php_fpm {
    server 127.0.0.1:${BACK[php-fpm]};
  }
  server {
    listen 127.0.0.1:${FRONT[php-fpm]};
    root $BENCH/php;
    error_log $RUN/nginx-php-fpm.log warn;
    location ~ \.php\$ {
      try_files \$uri =404;
      include $RUN/fastcgi_params;
      fastcgi_pass php_fpm;
    }
  }
}
EOF
} >"$RUN/nginx.conf"
touch "$RUN/nginx-tscgi.log" "$RUN/nginx-php-fpm.log" "$RUN/nginx-error.log"
"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' 2>"$RUN/nginx-t.log" || { tail_log "$RUN/nginx-t.log"; die "nginx rejected $RUN/nginx.conf"; }
log "starting nginx on 127.0.0.1:${FRONT[tscgi]} (tscgi), :${FRONT[php-fpm]} (PHP-FPM)"
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' >"$RUN/nginx.out" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")

# ---------------------------------------------------------------------------------------------
# The servers: started afresh for each run, so one fault's aftermath never reaches the next run.

# workers_of_target TARGET: the master's worker processes (tscgi's Node children, PHP-FPM's children).
workers_of_target() {
  if [ "$1" = tscgi ]; then children_of "${MASTER[$1]}"; else children_of "${MASTER[$1]}" any; fi
}

start_target() { # target tag max_requests
  local t=$1 tag=$2 maxreq=$3 i n
  if [ "$t" = tscgi ]; then
    local args=(serve --root "$BENCH/cgi-bin" --listen "127.0.0.1:${BACK[tscgi]}" --workers "$WORKERS" --access-log off)
    ((maxreq == 0)) || args+=(--max-requests "$maxreq")
    # From the run directory, so no conf/tscgi.conf of the checkout's applies.
    (cd "$RUN" && exec node "$ROOT/bin/tscgi.js" "${args[@]}") >"$RUN/$tag.log" 2>&1 &
  else
    local user=
    [ "$(id -u)" -eq 0 ] && user=$'user = root\ngroup = root'
    cat >"$RUN/$tag.conf" <<EOF
[global]
pid = $RUN/$tag.pid
error_log = $RUN/$tag.log
log_level = notice
daemonize = no

[www]
$user
listen = 127.0.0.1:${BACK[php-fpm]}
pm = static
pm.max_children = $WORKERS
pm.max_requests = $maxreq
catch_workers_output = yes
EOF
    local flags=(-F -y "$RUN/$tag.conf" -p "$RUN")
    [ "$(id -u)" -eq 0 ] && flags+=(-R)
    "$PHP_FPM" "${flags[@]}" >"$RUN/$tag.out" 2>&1 &
  fi
  MASTER[$t]=$!
  PIDS+=("$!")
  if ! wait_ok "${URL[$t]}" "${MASTER[$t]}"; then
    tail_log "$RUN/$tag.log"
    tail_log "$RUN/nginx-$t.log"
    [ "$t" = tscgi ] && die "tscgi did not answer 200 at ${URL[$t]} within 20 s"
    NOTES+=("$tag: PHP-FPM did not answer 200 at ${URL[$t]} within 20 s; run skipped")
    stop_target "$t"
    return 1
  fi
  for ((i = 0; i < 200; i++)); do
    n=$(workers_of_target "$t" | wc -l)
    ((n == WORKERS)) && return 0
    sleep 0.1
  done
  NOTES+=("$tag: $n worker processes 20 s after start, expected $WORKERS")
  return 0
}

stop_target() { # target
  local t=$1 kids
  [ -n "${MASTER[$t]:-}" ] || return 0
  kids=$(workers_of_target "$t")
  stop_pids "${MASTER[$t]}"
  drop_pid "${MASTER[$t]}"
  if [ "$t" = tscgi ]; then
    # shellcheck disable=SC2086
    stop_workers $kids
  else
    local p left=()
    for p in $kids; do
      if kill -0 "$p" 2>/dev/null && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q 'php-fpm: pool'; then left+=("$p"); fi
    done
    ((${#left[@]} == 0)) || stop_pids "${left[@]}"
  fi
  MASTER[$t]=
}

# ---------------------------------------------------------------------------------------------
# One run: the load on /hello while the scenario's fault happens. It lasts DURATION seconds or,
# when the fault takes longer, until the fault is over and the pool is back to its workers (then
# SETTLE_MS more), CAP_S at most: the recycle run ends after its RECYCLES recycles. The client is
# started for CAP_S and stopped with SIGINT, on which wrk (and load.mjs) report what they did.

start_load() { # target method outfile
  if [ "$CLIENT" = wrk ]; then
    FAULTS_METHOD=$2 FAULTS_BODY_BYTES=$BODY_BYTES FAULTS_BENCH_DIR=$BENCH \
      wrk -t1 -c"$CONNS" -d"${CAP_S}s" --timeout "${WRK_TIMEOUT_S}s" -s "$BENCH/wrk-faults.lua" "${URL[$1]}" >"$3" 2>&1 &
  else
    node "$BENCH/load.mjs" "${URL[$1]}" "$2" "$CONNS" "$CAP_S" "$BODY_BYTES" >"$3" 2>&1 &
  fi
  CLIENT_PID=$!
}

# Counts in a server's log: reloads finished, workers recycled, workers that died.
reloads_logged() { # target log
  if [ "$1" = tscgi ]; then grep -c 'reloaded' "$2" || true; else
    # PHP-FPM re-executes itself; each start after the first is a reload.
    echo $(($(grep -c 'ready to handle connections' "$2" || true) - 1))
  fi
}
recycles_logged() { # target log
  if [ "$1" = tscgi ]; then grep -c 'recycled' "$2" || true; else grep -c 'exited with code 0' "$2" || true; fi
}
deaths_logged() { # target log
  if [ "$1" = tscgi ]; then grep -cE 'worker [0-9]+ (exited with code|was killed by)' "$2" || true; else
    grep -cE 'child [0-9]+ exited (with code [1-9]|on signal)' "$2" || true
  fi
}

# nginx_time EPOCH_S: that second as nginx writes it in its error log.
nginx_time() { date -d "@$1" '+%Y/%m/%d %H:%M:%S'; }

# R[target:scenario:method:field]: ok, failed, the nginx error counts, and what the fault did.
declare -A R MAXREQ
LOADS=()

run_one() { # target scenario method
  local t=$1 s=$2 m=$3 tag="$1-$2-$3" out="$RUN/load-$1-$2-$3.txt" maxreq=0
  local k="$t:$s:$m" start now sig minw=999 maxw=0 n cur victim='' kill_s='' sent=0 next_at hit=0 i line
  local tlog="$RUN/$1-$2-$3.log" over=0 done_at=0 stopped=0 p kill_ms=0
  if [ "$s" = recycle ]; then
    maxreq=${MAXREQ[$t:$m]:-}
    if [ -z "$maxreq" ]; then
      NOTES+=("$tag: skipped, no baseline run to size max_requests from")
      return 0
    fi
  fi
  start_target "$t" "$tag" "$maxreq" || return 0
  local nginx_log="$RUN/nginx-$t.log" err_start
  err_start=$(wc -l <"$nginx_log")
  LOADS+=("$(cut -d' ' -f1 /proc/loadavg)")
  log "$tag: $CONNS connections for ${DURATION}s$( [ "$s" = baseline ] || echo ", $s")"
  if [ "$t" = tscgi ]; then sig=HUP; else sig=USR2; fi
  EXIT_PIDS=()
  start_load "$t" "$m" "$out"
  start=$(now_ms)
  next_at=$((start + DURATION * 1000 / (RELOADS + 1)))
  while kill -0 "$CLIENT_PID" 2>/dev/null; do
    now=$(now_ms)
    if ((now - start >= (CAP_S + WRK_TIMEOUT_S + 5) * 1000)); then
      kill -TERM "$CLIENT_PID" 2>/dev/null || true
      NOTES+=("$tag: the load client outlived its time and was stopped")
      break
    fi
    cur=$(workers_of_target "$t")
    n=$(wc -w <<<"$cur")
    ((n >= minw)) || minw=$n
    ((n <= maxw)) || maxw=$n
    case $s in
      baseline) over=1 ;;
      reload)
        if ((sent < RELOADS && now >= next_at)); then
          kill -"$sig" "${MASTER[$t]}" 2>/dev/null || true
          sent=$((sent + 1))
          next_at=$((start + (sent + 1) * DURATION * 1000 / (RELOADS + 1)))
        fi
        ((sent < RELOADS || $(reloads_logged "$t" "$tlog") < RELOADS)) || over=1
        ;;
      recycle)
        (($(recycles_logged "$t" "$tlog") < RECYCLES)) || over=1
        ;;
      kill)
        if [ -z "$victim" ] && ((now >= start + DURATION * 1000 / 3)); then
          # The newest worker (or child): the one surely serving.
          victim=$(tail -n 1 <<<"$cur")
          if [ -n "$victim" ]; then
            kill -KILL "$victim" 2>/dev/null || true
            kill_s=$((now / 1000)) kill_ms=$((now - start))
          fi
        elif [ -n "$victim" ] && [[ " $(echo $cur) " != *" $victim "* ]]; then
          over=1
        fi
        ;;
      exit)
        if ((hit < EXIT_HITS && now >= start + (EXIT_FIRST_S + hit) * 1000)); then
          hit=$((hit + 1))
          curl -s -o /dev/null -w '%{http_code}' --max-time "$WRK_TIMEOUT_S" "${EXIT_URL[$t]}" >"$RUN/exit-$tag-$hit.code" 2>/dev/null &
          EXIT_PIDS+=("$!")
        fi
        if ((hit == EXIT_HITS)); then
          over=1
          for p in "${EXIT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && over=0; done
        fi
        ;;
    esac
    # Over means over and the pool back to its number of workers.
    if ((over && n == WORKERS)); then
      ((done_at)) || done_at=$now
    else
      done_at=0
    fi
    over=0
    if ((done_at && now >= done_at + SETTLE_MS)) && { [ "$s" = recycle ] || ((now >= start + DURATION * 1000)); }; then
      kill -INT "$CLIENT_PID" 2>/dev/null || true
      stopped=1
      break
    fi
    sleep 0.1
  done
  if ((!stopped)) && [ "$s" != baseline ]; then
    NOTES+=("$tag: the fault was not over (or the pool not back to $WORKERS workers) after ${CAP_S} s, when the load ended")
  fi
  wait "$CLIENT_PID" || true
  CLIENT_PID=
  for i in "${EXIT_PIDS[@]}"; do wait "$i" || true; done
  EXIT_PIDS=()

  line=$(grep '^WRK ' "$out" || true)
  if [ -z "$line" ]; then
    NOTES+=("$tag: the load client reported nothing: $(tr '\n' ' ' <"$out" | head -c 300)")
  fi
  local -A W=()
  for kv in ${line#WRK }; do W[${kv%%=*}]=${kv#*=}; done
  R[$k:requests]=${W[requests]:-0}
  R[$k:ok]=$((${W[requests]:-0} - ${W[status]:-0}))
  R[$k:failed]=$((${W[status]:-0} + ${W[connect]:-0} + ${W[read]:-0} + ${W[write]:-0} + ${W[timeout]:-0}))
  local -a detail=()
  ((${W[status]:-0} == 0)) || detail+=("${W[status]} non-2xx")
  for kv in connect read write timeout; do ((${W[$kv]:-0} == 0)) || detail+=("${W[$kv]} $kv"); done
  R[$k:detail]=$(IFS=,; echo "${detail[*]}" | sed 's/,/, /g')
  [ -n "$line" ] || R[$k:failed]="?"

  tail -n +"$((err_start + 1))" "$nginx_log" | grep '\[error\]' >"$RUN/nginx-errors-$tag.txt" || true
  R[$k:premature]=$(grep -c 'prematurely closed' "$RUN/nginx-errors-$tag.txt" || true)
  R[$k:connect]=$(grep -c 'connect() failed' "$RUN/nginx-errors-$tag.txt" || true)
  R[$k:other]=$(($(wc -l <"$RUN/nginx-errors-$tag.txt") - ${R[$k:premature]} - ${R[$k:connect]}))
  R[$k:minw]=$minw R[$k:maxw]=$maxw

  case $s in
    reload)
      R[$k:what]="$sent SIG$sig sent, $(reloads_logged "$t" "$tlog") reloads logged"
      ;;
    recycle)
      n=$(recycles_logged "$t" "$tlog")
      if [ "$t" = tscgi ]; then R[$k:what]="--max-requests $maxreq: $n workers recycled"; else R[$k:what]="pm.max_requests $maxreq: $n children recycled"; fi
      ;;
    kill)
      local in_window=0 sec
      if [ -n "$kill_s" ]; then
        for ((sec = kill_s; sec <= kill_s + KILL_WINDOW_S; sec++)); do
          in_window=$((in_window + $(grep -c "^$(nginx_time "$sec") " "$RUN/nginx-errors-$tag.txt" || true)))
        done
        R[$k:what]="pid $victim killed at $(awk -v m="$kill_ms" 'BEGIN { printf "%.1f", m / 1000 }') s; $in_window nginx errors within ${KILL_WINDOW_S} s of it"
      else
        R[$k:what]="no worker to kill"
      fi
      R[$k:in_window]=$in_window
      ;;
    exit)
      local codes
      codes=$(for ((i = 1; i <= hit; i++)); do
        c=$(cat "$RUN/exit-$tag-$i.code" 2>/dev/null || true)
        [ -n "$c" ] && [ "$c" != 000 ] && echo "$c" || echo "no answer"
      done | sort | uniq -c | awk '{ n = $1; $1 = ""; printf "%s%s ×%d", sep, substr($0, 2), n; sep = ", " }')
      R[$k:what]="$hit GET /exit answered $codes; $(deaths_logged "$t" "$tlog") worker deaths logged"
      ;;
  esac
  R[$k:what]+="${R[$k:what]:+; }workers alive $minw–$maxw; the load ran $(awk -v d="${W[duration_us]:-0}" 'BEGIN { printf "%.1f", d / 1e6 }') s"

  if [ "$s" = baseline ] && [ "${R[$k:requests]}" -gt 0 ]; then
    # The recycle run ends after RECYCLES recycles; sized for RECYCLES + 1 in the baseline's count,
    # it takes about DURATION, a little more as a recycle costs throughput (a new worker starts).
    MAXREQ[$t:$m]=$((${R[$k:requests]} / (RECYCLES + 1)))
    ((${MAXREQ[$t:$m]} > 0)) || MAXREQ[$t:$m]=1
  fi
  if ! kill -0 "${MASTER[$t]}" 2>/dev/null; then
    tail_log "$tlog"
    NOTES+=("$tag: the ${NAME[$t]} master exited during the run")
  fi
  stop_target "$t"
  return 0
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for s in $SCENARIOS; do
  for m in $METHODS; do
    # Targets interleaved, so that a disturbance on the machine hits them alike.
    for t in "${RUN_TARGETS[@]}"; do run_one "$t" "$s" "$m"; done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Report.

has() { [[ " ${RUN_TARGETS[*]} " == *" $1 "* ]]; }
cell() { # key: "ok / failed"
  [ -n "${R[$1:ok]:-}" ] || { echo "–"; return 0; }
  local c="$(group "${R[$1:ok]}") / ${R[$1:failed]}"
  [ -z "${R[$1:detail]:-}" ] || c+=" (${R[$1:detail]})"
  echo "$c"
}
ncell() { # key: nginx "premature / connect() / other"
  [ -n "${R[$1:premature]:-}" ] || { echo "–"; return 0; }
  echo "${R[$1:premature]} / ${R[$1:connect]} / ${R[$1:other]}"
}
verdict() { # scenario key: tscgi against its target
  [ -n "${R[$2:failed]:-}" ] || { echo "–"; return 0; }
  [ "${R[$2:failed]}" != "?" ] || { echo "?"; return 0; }
  if [ "$1" = kill ]; then
    # Only the killed worker's own requests may fail: the failures nginx logged just after the kill.
    if ((${R[$2:failed]} <= ${R[$2:in_window]:-0})); then echo "PASS (in-flight only)"; else echo "MISS"; fi
  elif ((${R[$2:failed]} == 0)); then echo PASS; else echo MISS; fi
}
declare -A LABEL=(
  [baseline]="baseline (no fault)"
  [reload]="$RELOADS reloads"
  [recycle]="$RECYCLES recycles"
  [kill]="kill -9 of a worker"
  [exit]="process.exit() on /exit, 1/s for ${EXIT_HITS} s"
)
LOAD_RANGE=$(printf '%s\n' "${LOADS[@]}" | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%s–%s", a, b }')

{
  echo "## tscgi under faults"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, node $(node -v), $("$NGINX" -v 2>&1 | sed 's/.*: //')$(has php-fpm && echo ", PHP $("$PHP_FPM" -v 2>/dev/null | awk 'NR == 1 { print $2 }')"), load from $([ "$CLIENT" = wrk ] && echo "wrk -t1" || echo "bench/load.mjs") at $CONNS connections for ${DURATION}s per run, POST bodies $BODY_BYTES bytes (urlencoded)."
  echo "Load average before / after: $LOAD_BEFORE / $LOAD_AFTER; 1-minute load at the start of each run: $LOAD_RANGE (other work on the machine changes req/s, not which requests fail)."
  setup=()
  has tscgi && setup+=("tscgi --workers $WORKERS with upstream keepalive $KEEPALIVE and fastcgi_keep_conn on (conf/nginx.conf)")
  has php-fpm && setup+=("PHP-FPM pm static $WORKERS, a new connection per request (PHP's usual set-up)")
  echo "One nginx (1 worker): $(IFS=';'; echo "${setup[*]}" | sed 's/;/; /g'). Each run starts its server afresh; the load is on /hello (hello.php)."
  echo
  header="| scenario | method |"
  rule="|---|---|"
  if has tscgi; then header+=" tscgi ok / failed | nginx errors (tscgi): premature / connect() / other | tscgi target |"; rule+="---:|---:|---|"; fi
  if has php-fpm; then header+=" PHP-FPM ok / failed | nginx errors (PHP-FPM): premature / connect() / other |"; rule+="---:|---:|"; fi
  echo "$header"
  echo "$rule"
  for s in $SCENARIOS; do
    for m in $METHODS; do
      row="| ${LABEL[$s]} | $m |"
      if has tscgi; then row+=" $(cell "tscgi:$s:$m") | $(ncell "tscgi:$s:$m") | $(verdict "$s" "tscgi:$s:$m") |"; fi
      if has php-fpm; then row+=" $(cell "php-fpm:$s:$m") | $(ncell "php-fpm:$s:$m") |"; fi
      echo "$row"
    done
  done
  echo
  echo "What each fault did:"
  for s in $SCENARIOS; do
    for m in $METHODS; do
      for t in "${RUN_TARGETS[@]}"; do
        [ -n "${R[$t:$s:$m:what]:-}" ] || continue
        echo "- ${LABEL[$s]}, $m, ${NAME[$t]}: ${R[$t:$s:$m:what]}"
      done
    done
  done
  echo
  echo "A failed request is a non-2xx answer (nginx's 502 or 504) or a socket error at the client. The nginx columns count the [error] lines of that run:" \
    "'upstream prematurely closed connection', 'connect() failed', and the rest (resets, broken pipes); an error line without a failed request is a request nginx retried on another connection (it retries GET, never a POST it has begun to send)." \
    "tscgi's target is 0 failed everywhere except the kill -9, where only the killed worker's own requests may fail (those nginx logged within ${KILL_WINDOW_S} s of the kill). In the exit runs the /exit requests are not part of the load's counts, but their nginx errors are."
  if ((${#NOTES[@]})); then
    echo
    echo "Notes and problems:"
    for n in "${NOTES[@]}"; do echo "- $n"; done
  fi
} >"$RUN/results.md"

cat "$RUN/results.md"
cp "$RUN/results.md" "$OUT" 2>/dev/null && log "results written to $OUT" || log "could not write $OUT"

exit 0
}
