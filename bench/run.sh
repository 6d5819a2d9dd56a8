#!/usr/bin/env bash
# tscgi benchmark: hello world behind one nginx, tscgi against PHP-FPM, node:http and nginx's own
# `return`, then tscgi's memory while 1 GiB streams in and out. See bench/README.md.
#
# Everything runs on 127.0.0.1, on free ports, with configs in a temporary directory; every
# process started here is stopped here, by pid. Exits 0 whatever the numbers say (it is a
# measurement); exits 1 only when a component cannot be installed or started.
set -euo pipefail

# The whole script is one brace group, read entirely before any of it runs: editing this file
# while a run is under way cannot change what that run executes.
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNS:-16 256}
TARGETS=${BENCH_TARGETS:-tscgi php-fpm node-http nginx}
MEMORY=${BENCH_MEMORY:-1}
MEM_BYTES=${BENCH_MEM_BYTES:-1073741824}
ROUNDS=${BENCH_ROUNDS:-1}
TSCGI_WORKERS=${BENCH_TSCGI_WORKERS:-0}
PHP_KEEPALIVE=${BENCH_PHP_KEEPALIVE:-on}
UPSTREAM_KEEPALIVE=${BENCH_UPSTREAM_KEEPALIVE:-16}
OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/tscgi-bench-latest.md}
MEM_HUMAN=$(awk -v b="$MEM_BYTES" 'BEGIN { if (b >= 1073741824) printf "%g GiB", b / 1073741824; else if (b >= 1048576) printf "%g MiB", b / 1048576; else printf "%d bytes", b }')
KEEP=${BENCH_KEEP:-0}

# Targets tscgi is held to.
GOAL_VS_PHP=2.5
GOAL_VS_NODE=1.0
GOAL_RSS_MIB=100

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_uint "$DURATION" && ((DURATION > 0)) || die "BENCH_DURATION must be a positive number of seconds, got '$DURATION'"
is_uint "$WARMUP" || die "BENCH_WARMUP must be a number of seconds, got '$WARMUP'"
is_uint "$MEM_BYTES" && ((MEM_BYTES > 0)) || die "BENCH_MEM_BYTES must be a positive byte count, got '$MEM_BYTES'"
is_uint "$UPSTREAM_KEEPALIVE" && ((UPSTREAM_KEEPALIVE > 0)) || die "BENCH_UPSTREAM_KEEPALIVE must be a positive number, got '$UPSTREAM_KEEPALIVE'"
[[ $PHP_KEEPALIVE == on || $PHP_KEEPALIVE == off ]] || die "BENCH_PHP_KEEPALIVE must be on or off, got '$PHP_KEEPALIVE'"
is_uint "$ROUNDS" && ((ROUNDS > 0 && ROUNDS <= 20)) || die "BENCH_ROUNDS must be 1 to 20, got '$ROUNDS'"
is_uint "$TSCGI_WORKERS" || die "BENCH_TSCGI_WORKERS must be a number, got '$TSCGI_WORKERS'"
for c in $CONNS; do is_uint "$c" && ((c > 0)) || die "BENCH_CONNS must list positive numbers, got '$CONNS'"; done
for t in $TARGETS; do
  case $t in tscgi | php-fpm | node-http | nginx) ;; *) die "unknown target '$t' in BENCH_TARGETS (tscgi php-fpm node-http nginx)" ;; esac
done
has_target() { [[ " $TARGETS " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing, each only when missing.

find_php_fpm() {
  local f
  for f in "${BENCH_PHP_FPM:-}" /usr/sbin/php-fpm8.2 $(compgen -c php-fpm 2>/dev/null | sort -u) /usr/sbin/php-fpm*; do
    [ -n "$f" ] || continue
    f=$(command -v "$f" 2>/dev/null) || continue
    [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if has_target php-fpm && ! find_php_fpm >/dev/null; then missing+=(php8.2-fpm); fi
if ((${#missing[@]})); then
  log "installing ${missing[*]} with apt-get"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
    SUDO=(sudo)
  fi
  { "${SUDO[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 ||
    die "apt-get install ${missing[*]} failed"
fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found after install"
if has_target php-fpm; then PHP_FPM=$(find_php_fpm) || die "php-fpm not found after install"; fi

# ---------------------------------------------------------------------------------------------
# Run directory and cleanup.

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench.XXXXXX")
chmod 755 "$RUN"
PIDS=()
CLIENT_PID=

stop_pids() {
  local pid i alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null || true
  if ((${#PIDS[@]})); then
    # Reverse start order: nginx first, then the backends.
    local rev=() i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do rev+=("${PIDS[i]}"); done
    stop_pids "${rev[@]}"
  fi
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

# Free loopback ports: bind them all at once, report, release.
# shellcheck disable=SC2207
PORTS=($(node -e '
  const net = require("node:net");
  const n = Number(process.argv[1]);
  const servers = Array.from({ length: n }, () => net.createServer());
  Promise.all(servers.map((s) => new Promise((ok, fail) => { s.once("error", fail); s.listen(0, "127.0.0.1", ok); })))
    .then(() => { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); });
' 7))
((${#PORTS[@]} == 7)) || die "could not find free ports"
P_RETURN=${PORTS[0]} P_FRONT_PHP=${PORTS[1]} P_FRONT_NODE=${PORTS[2]} P_FRONT_TSCGI=${PORTS[3]}
P_PHP=${PORTS[4]} P_NODE=${PORTS[5]} P_TSCGI=${PORTS[6]}

# wait_ok URL PID NAME: until URL answers 200 (20 s at most), failing if PID exits.
wait_ok() {
  local i code
  for ((i = 0; i < 200; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true)
    [ "$code" = 200 ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# tail_log FILE: the end of a component's log, for a failure message.
tail_log() { [ -s "$1" ] && { echo "--- $1"; tail -n 20 "$1"; } >&2 || true; }

# ---------------------------------------------------------------------------------------------
# Backends.

TSCGI_PID=
if has_target tscgi; then
  [ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"
  HELP=$(cd "$ROOT" && timeout 20 node bin/tscgi.js --help 2>&1) || die "node bin/tscgi.js --help failed: $HELP"
  TSCGI_ARGS=(serve --listen "127.0.0.1:$P_TSCGI" --root "$BENCH/cgi-bin" --workers "$TSCGI_WORKERS")
  # Flags the bench relies on, each only if this build has it.
  has_flag() { grep -q -- "$1 " <<<"$HELP"; }
  if has_flag --access-log; then TSCGI_ARGS+=(--access-log off); fi
  if has_flag --max-body-size; then
    TSCGI_ARGS+=(--max-body-size $((MEM_BYTES * 2)))
  else
    log "note: tscgi --help lists no --max-body-size; the upload runs under tscgi's default limit"
  fi
  if has_flag --request-timeout; then TSCGI_ARGS+=(--request-timeout 10m); fi
  start_tscgi() {
    # From the run directory, so no conf/tscgi.conf of the checkout's applies.
    log "starting tscgi: node bin/tscgi.js ${TSCGI_ARGS[*]}"
    (cd "$RUN" && exec node "$ROOT/bin/tscgi.js" "${TSCGI_ARGS[@]}") >>"$RUN/tscgi.log" 2>&1 &
    TSCGI_PID=$!
    PIDS+=("$TSCGI_PID")
  }
  start_tscgi
fi

PHP_PID=
if has_target php-fpm; then
  PHP_USER=
  [ "$(id -u)" -eq 0 ] && PHP_USER=$'user = root\ngroup = root'
  cat >"$RUN/php-fpm.conf" <<EOF
[global]
pid = $RUN/php-fpm.pid
error_log = $RUN/php-fpm.log
daemonize = no

[bench]
$PHP_USER
listen = 127.0.0.1:$P_PHP
pm = static
pm.max_children = 2
pm.max_requests = 0
catch_workers_output = yes
EOF
  PHP_FLAGS=(-F -y "$RUN/php-fpm.conf" -p "$RUN")
  [ "$(id -u)" -eq 0 ] && PHP_FLAGS+=(-R)
  log "starting php-fpm: $PHP_FPM ${PHP_FLAGS[*]}"
  "$PHP_FPM" "${PHP_FLAGS[@]}" >"$RUN/php-fpm.out" 2>&1 &
  PHP_PID=$!
  PIDS+=("$PHP_PID")
fi

NODE_PID=
if has_target node-http; then
  log "starting node:http on 127.0.0.1:$P_NODE"
  node "$BENCH/node-http.mjs" "$P_NODE" 127.0.0.1 >"$RUN/node-http.log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
fi

# ---------------------------------------------------------------------------------------------
# nginx: one worker, four servers, no access log.

mkdir -p "$RUN/nginx-tmp"
cat >"$RUN/fastcgi_params" <<'EOF'
fastcgi_param GATEWAY_INTERFACE CGI/1.1;
fastcgi_param SERVER_SOFTWARE   nginx/$nginx_version;
fastcgi_param SERVER_PROTOCOL   $server_protocol;
fastcgi_param SERVER_NAME       $server_name;
fastcgi_param SERVER_ADDR       $server_addr;
fastcgi_param SERVER_PORT       $server_port;
fastcgi_param REQUEST_METHOD    $request_method;
fastcgi_param REQUEST_SCHEME    $scheme;
fastcgi_param REQUEST_URI       $request_uri;
fastcgi_param DOCUMENT_URI      $document_uri;
fastcgi_param DOCUMENT_ROOT     $document_root;
fastcgi_param SCRIPT_NAME       $fastcgi_script_name;
fastcgi_param SCRIPT_FILENAME   $document_root$fastcgi_script_name;
fastcgi_param QUERY_STRING      $query_string;
fastcgi_param CONTENT_TYPE      $content_type;
fastcgi_param CONTENT_LENGTH    $content_length;
fastcgi_param REMOTE_ADDR       $remote_addr;
fastcgi_param REMOTE_PORT       $remote_port;
fastcgi_param HTTPS             $https if_not_empty;
fastcgi_param REDIRECT_STATUS   200;
EOF

NGINX_USER=
[ "$(id -u)" -eq 0 ] && NGINX_USER="user root root;"
{
  cat <<EOF
worker_processes 1;
$NGINX_USER
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }

http {
  access_log off;
  server_tokens off;
  default_type text/html;
  keepalive_requests 1000000;
  client_body_temp_path $RUN/nginx-tmp/body;
  proxy_temp_path $RUN/nginx-tmp/proxy;
  fastcgi_temp_path $RUN/nginx-tmp/fastcgi;
  uwsgi_temp_path $RUN/nginx-tmp/uwsgi;
  scgi_temp_path $RUN/nginx-tmp/scgi;

  # The ceiling: nginx answering by itself.
  server {
    listen 127.0.0.1:$P_RETURN;
    location / { return 200 "Hello, world"; }
  }
EOF
  if has_target php-fpm; then
    cat <<EOF

  upstream php_fpm {
    server 127.0.0.1:$P_PHP;
$( [ "$PHP_KEEPALIVE" = on ] && printf '    keepalive %s;\n    keepalive_requests 1000000;' "$UPSTREAM_KEEPALIVE" )
  }
  server {
    listen 127.0.0.1:$P_FRONT_PHP;
    root $BENCH/php;
    location ~ \.php\$ {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn $PHP_KEEPALIVE;
      fastcgi_pass php_fpm;
    }
  }
EOF
  fi
  if has_target node-http; then
    cat <<EOF

  upstream node_http {
    server 127.0.0.1:$P_NODE;
    keepalive $UPSTREAM_KEEPALIVE;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$P_FRONT_NODE;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_pass http://node_http;
    }
  }
EOF
  fi
  if has_target tscgi; then
    cat <<EOF

  upstream tscgi {
    server 127.0.0.1:$P_TSCGI;
    keepalive $UPSTREAM_KEEPALIVE;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$P_FRONT_TSCGI;
    root $BENCH/cgi-bin;
    location / {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_pass tscgi;
    }
    # Memory benchmark: bodies stream through, neither buffered nor spooled to disk.
    location = /upload {
      include $RUN/fastcgi_params;
      client_max_body_size 2g;
      fastcgi_request_buffering off;
      fastcgi_send_timeout 600s;
      fastcgi_read_timeout 600s;
      fastcgi_keep_conn on;
      fastcgi_pass tscgi;
    }
    location = /download {
      include $RUN/fastcgi_params;
      fastcgi_max_temp_file_size 0;
      fastcgi_read_timeout 600s;
      fastcgi_keep_conn on;
      fastcgi_pass tscgi;
    }
  }
EOF
  fi
  echo "}"
} >"$RUN/nginx.conf"

"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' 2>"$RUN/nginx-t.log" || { tail_log "$RUN/nginx-t.log"; die "nginx rejected $RUN/nginx.conf"; }
log "starting nginx on 127.0.0.1:$P_RETURN (return), :$P_FRONT_PHP (php-fpm), :$P_FRONT_NODE (node:http), :$P_FRONT_TSCGI (tscgi)"
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' >"$RUN/nginx.out" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")

# ---------------------------------------------------------------------------------------------
# Readiness and a correctness check of each target's answer.

declare -A URL NAME PID_OF LOG_OF
URL[nginx]="http://127.0.0.1:$P_RETURN/" NAME[nginx]="nginx return" PID_OF[nginx]=$NGINX_PID
URL[php-fpm]="http://127.0.0.1:$P_FRONT_PHP/hello.php" NAME[php-fpm]="PHP-FPM" PID_OF[php-fpm]=$PHP_PID
URL[node-http]="http://127.0.0.1:$P_FRONT_NODE/" NAME[node-http]="node:http" PID_OF[node-http]=$NODE_PID
URL[tscgi]="http://127.0.0.1:$P_FRONT_TSCGI/hello" NAME[tscgi]="tscgi" PID_OF[tscgi]=$TSCGI_PID
LOG_OF[nginx]="$RUN/nginx-error.log" LOG_OF[php-fpm]="$RUN/php-fpm.log" LOG_OF[node-http]="$RUN/node-http.log" LOG_OF[tscgi]="$RUN/tscgi.log"

NOTES=()
wait_ok "${URL[nginx]}" "$NGINX_PID" nginx || { tail_log "$RUN/nginx.out"; tail_log "$RUN/nginx-error.log"; die "nginx did not start"; }
for t in $TARGETS; do
  if ! wait_ok "${URL[$t]}" "${PID_OF[$t]}" "$t"; then
    tail_log "${LOG_OF[$t]}"
    [ "$t" = php-fpm ] && tail_log "$RUN/php-fpm.out"
    tail_log "$RUN/nginx-error.log"
    if kill -0 "${PID_OF[$t]}" 2>/dev/null; then
      die "${NAME[$t]} did not answer 200 at ${URL[$t]} within 20 s"
    fi
    die "${NAME[$t]} exited at start-up (log above)"
  fi
  got=$(curl -s -D "$RUN/check-$t.headers" --max-time 5 "${URL[$t]}" || true)
  ctype=$(awk 'tolower($1) == "content-type:" { sub(/\r$/, ""); $1 = ""; sub(/^ /, ""); print }' "$RUN/check-$t.headers")
  if [ "$got" != "Hello, world" ]; then
    NOTES+=("${NAME[$t]}: GET ${URL[$t]#http://127.0.0.1:*/} answered body '$got', expected 'Hello, world'")
  fi
  if [[ "$ctype" != text/html* ]]; then
    NOTES+=("${NAME[$t]}: content-type '$ctype', expected text/html")
  fi
done

# worker_pids: the processes that run tscgi scripts: the Node children of the process started
# (not helpers such as esbuild's service), or that process itself when it has none.
NODE_EXE=$(readlink -f "$(command -v node)")
worker_pids() {
  local pid found=0
  for pid in $(pgrep -P "$TSCGI_PID" 2>/dev/null || true); do
    if [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$NODE_EXE" ]; then
      echo "$pid"
      found=1
    fi
  done
  ((found)) || echo "$TSCGI_PID"
}
# rss_kib PID FIELD: VmRSS or VmHWM of PID in KiB (0 when gone).
rss_kib() {
  local v
  v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null) || v=
  echo "${v:-0}"
}
max_rss_kib() { # FIELD: the largest over the workers
  local pid m=0 v
  for pid in $(worker_pids); do
    v=$(rss_kib "$pid" "$1")
    ((v > m)) && m=$v
  done
  echo "$m"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

NODE_IDLE_RSS=
has_target node-http && NODE_IDLE_RSS=$(rss_kib "$NODE_PID" VmRSS)
IDLE_RSS=
if has_target tscgi; then
  ((TSCGI_WORKERS == 0)) || sleep 1
  IDLE_RSS=$(max_rss_kib VmRSS)
  if ((TSCGI_WORKERS > 0)) && [ "$(worker_pids)" = "$TSCGI_PID" ]; then
    NOTES+=("tscgi --workers $TSCGI_WORKERS started no worker processes: everything ran in the one process started (pid $TSCGI_PID)")
  fi
fi

# ---------------------------------------------------------------------------------------------
# Throughput: wrk, one thread. Targets are interleaved (round by round, connection count by
# connection count) so that a disturbance on the machine hits them alike; each (target, conns)
# is warmed once, and with several rounds the median run is reported.

declare -A RPS P50 P99 ERRS ERRTXT RANGE DEAD STALLED
# R_STATUS ... R_TIMEOUT are filled and read through indirect names (printf -v, ${!v}).
# shellcheck disable=SC2034
declare -A R_RPS R_P50 R_P99 R_STATUS R_CONNECT R_READ R_WRITE R_TIMEOUT
run_wrk() { # target conns duration outfile
  # In the background and waited for, so that a signal stops the run at once.
  wrk -t1 -c"$2" -d"$3s" --timeout 10s --latency -s "$BENCH/wrk-report.lua" "${URL[$1]}" >"$4" 2>&1 &
  CLIENT_PID=$!
  local rc=0
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=
  return "$rc"
}

measure() { # target conns round
  local t=$1 c=$2 r=$3 k line out="$RUN/wrk-$1-$2-$3.txt" served
  if ((r == 1 && WARMUP > 0)); then
    log "warming ${NAME[$t]} at $c connections (${WARMUP}s)"
    run_wrk "$t" "$c" "$WARMUP" "$RUN/wrk-$t-$c-warm.txt" || true
  fi
  log "measuring ${NAME[$t]} at $c connections (${DURATION}s$( ((ROUNDS > 1)) && echo ", round $r of $ROUNDS"))"
  run_wrk "$t" "$c" "$DURATION" "$out" || true
  line=$(grep '^WRK ' "$out" || true)
  if [ -z "$line" ]; then
    cat "$out" >&2
    NOTES+=("${NAME[$t]} at $c connections: wrk produced no result: $(tr '\n' ' ' <"$out" | head -c 300)")
    return
  fi
  local -A W=()
  for kv in ${line#WRK }; do W[${kv%%=*}]=${kv#*=}; done
  R_RPS[$t:$c:$r]=$(awk -v n="${W[requests]}" -v d="${W[duration_us]}" 'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
  R_P50[$t:$c:$r]=${W[p50_us]} R_P99[$t:$c:$r]=${W[p99_us]}
  for k in status connect read write timeout; do
    printf -v "R_${k^^}[$t:$c:$r]" '%s' "${W[$k]}"
  done
  # Little's law: connections being answered = throughput × mean latency. Far fewer than were
  # opened means the others waited unanswered for the whole run (wrk counts no error for them).
  served=$(awk -v n="${R_RPS[$t:$c:$r]}" -v m="${W[mean_us]:-0}" 'BEGIN { printf "%.0f", n * m / 1e6 }')
  if ((served * 2 < c)); then STALLED[$t:$c]="~$served of $c"; fi
  if ! kill -0 "${PID_OF[$t]}" 2>/dev/null; then
    tail_log "${LOG_OF[$t]}"
    NOTES+=("${NAME[$t]} exited during the run at $c connections")
    DEAD[$t]=1
  fi
  return 0
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
  for c in $CONNS; do
    for t in $TARGETS; do
      if [ -z "${DEAD[$t]:-}" ]; then measure "$t" "$c" "$round"; fi
    done
  done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Aggregate: the median run by req/s (the lower median for an even count), errors summed.
for t in $TARGETS; do
  for c in $CONNS; do
    runs=()
    for ((round = 1; round <= ROUNDS; round++)); do
      [ -n "${R_RPS[$t:$c:$round]:-}" ] && runs+=("${R_RPS[$t:$c:$round]} $round")
    done
    ((${#runs[@]})) || continue
    mapfile -t sorted < <(printf '%s\n' "${runs[@]}" | sort -n -k1,1)
    mid=${sorted[$(((${#sorted[@]} - 1) / 2))]}
    r=${mid#* }
    RPS[$t:$c]=${mid% *} P50[$t:$c]=${R_P50[$t:$c:$r]} P99[$t:$c]=${R_P99[$t:$c:$r]}
    ((${#sorted[@]} > 1)) && RANGE[$t:$c]="${sorted[0]% *}–${sorted[-1]% *}"
    total=0 detail=()
    for k in status connect read write timeout; do
      sum=0
      for ((round = 1; round <= ROUNDS; round++)); do
        v="R_${k^^}[$t:$c:$round]"
        sum=$((sum + ${!v:-0}))
      done
      total=$((total + sum))
      ((sum > 0)) && detail+=("$k $sum")
    done
    ERRS[$t:$c]=$total
    ERRTXT[$t:$c]=$total
    ((${#detail[@]})) && ERRTXT[$t:$c]="$total ($(IFS=,; echo "${detail[*]}" | sed 's/,/, /g'))"
    if [ -n "${STALLED[$t:$c]:-}" ]; then
      ERRTXT[$t:$c]+=" †"
      NOTES+=("† ${NAME[$t]} at $c connections: only ${STALLED[$t:$c]} connections were being answered (req/s × mean latency); the others waited unanswered for the whole run, so p50/p99 describe the answered ones only")
    fi
  done
done

# ---------------------------------------------------------------------------------------------
# Memory: tscgi's worker RSS, sampled every 100 ms, while MEM_BYTES stream in and then out.

MEM_ROWS=()
mem_phase() { # label expect-check curl-args...
  local label=$1 out="$RUN/mem-$1.out" cpid rss max=0 n=0 hwm rc=0 result
  shift
  MEM_BEFORE=$(max_rss_kib VmRSS)
  # Reset the peak (VmHWM) to the current RSS, so it covers this phase only.
  for pid in $(worker_pids); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
  curl -sS --max-time 900 -o "$out" -w '%{http_code} %{size_download} %{size_upload} %{time_total}' "$@" >"$RUN/mem-$label.status" 2>"$RUN/mem-$label.err" &
  cpid=$!
  CLIENT_PID=$cpid
  local samples=()
  while kill -0 "$cpid" 2>/dev/null && ((n < 9000)); do
    rss=$(max_rss_kib VmRSS)
    samples+=("$rss")
    ((rss > max)) && max=$rss
    sleep 0.1
    n=$((n + 1))
  done
  # Plateau or growth: the highest sample of the first half against that of the second.
  MEM_TREND=
  if ((n >= 4)); then
    MEM_TREND=$(printf '%s\n' "${samples[@]}" | awk -v n="$n" '
      NR <= n / 2 { if ($1 > a) a = $1; next } { if ($1 > b) b = $1 }
      END { printf "%+.1f MiB", (b - a) / 1024 }')
  fi
  kill -0 "$cpid" 2>/dev/null && kill -TERM "$cpid" 2>/dev/null
  wait "$cpid" || rc=$?
  CLIENT_PID=
  hwm=$(max_rss_kib VmHWM)
  read -r code down up secs <"$RUN/mem-$label.status" || true
  MEM_CODE=${code:-000} MEM_DOWN=${down:-0} MEM_UP=${up:-0} MEM_SECS=${secs:-0} MEM_RC=$rc MEM_OUT=$out
  MEM_MAX=$max MEM_HWM=$hwm
}

if has_target tscgi && [ "$MEMORY" = 1 ]; then
  # A fresh process: the heap a 256-connection burst left behind is not what streaming costs.
  stop_pids "$TSCGI_PID"
  start_tscgi
  wait_ok "http://127.0.0.1:$P_FRONT_TSCGI/hello" "$TSCGI_PID" || { tail_log "$RUN/tscgi.log"; die "tscgi did not restart for the memory runs"; }
  # A sparse file: MEM_BYTES of zeros that take no disk and let curl send a Content-Length.
  truncate -s "$MEM_BYTES" "$RUN/body.bin"
  if ((MEM_BYTES == 1073741824)); then
    EXPECT_SHA=49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14
  else
    EXPECT_SHA=$(sha256sum "$RUN/body.bin" | cut -d' ' -f1)
  fi

  log "memory: uploading $MEM_BYTES bytes to /upload"
  mem_phase upload -X POST -T "$RUN/body.bin" -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    "http://127.0.0.1:$P_FRONT_TSCGI/upload"
  body=$(head -c 2000 "$MEM_OUT" 2>/dev/null || true)
  result=ok
  if [ "$MEM_CODE" != 200 ] || [[ "$body" != *"\"bytes\":$MEM_BYTES"* ]] || [[ "$body" != *"$EXPECT_SHA"* ]]; then
    result="FAILED: HTTP $MEM_CODE, curl exit $MEM_RC, sent $MEM_UP bytes, answer: ${body:0:300}"
    NOTES+=("upload: POST /upload with a $MEM_BYTES-byte body (Content-Length) → HTTP $MEM_CODE, curl exit $MEM_RC $(head -c 300 "$RUN/mem-upload.err" 2>/dev/null), answer: ${body:0:300}")
  fi
  MEM_ROWS+=("upload $MEM_HUMAN|$MEM_BEFORE|$MEM_TREND|$MEM_MAX|$MEM_HWM|$MEM_UP|$MEM_SECS|$result")

  log "memory: downloading $MEM_BYTES bytes from /download"
  mem_phase download "http://127.0.0.1:$P_FRONT_TSCGI/download?bytes=$MEM_BYTES"
  result=ok
  if [ "$MEM_CODE" != 200 ] || [ "$MEM_DOWN" != "$MEM_BYTES" ]; then
    result="FAILED: HTTP $MEM_CODE, curl exit $MEM_RC, received $MEM_DOWN bytes"
    NOTES+=("download: GET /download?bytes=$MEM_BYTES → HTTP $MEM_CODE, curl exit $MEM_RC, received $MEM_DOWN of $MEM_BYTES bytes $(head -c 300 "$RUN/mem-download.err" 2>/dev/null)")
  fi
  MEM_ROWS+=("download $MEM_HUMAN|$MEM_BEFORE|$MEM_TREND|$MEM_MAX|$MEM_HWM|$MEM_DOWN|$MEM_SECS|$result")
  rm -f "$RUN/body.bin" "$RUN/mem-download.out"
  if ! kill -0 "$TSCGI_PID" 2>/dev/null; then
    tail_log "$RUN/tscgi.log"
    NOTES+=("tscgi exited during the memory benchmark")
  fi
fi

# ---------------------------------------------------------------------------------------------
# Report.

ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
ratio() { # rps base -> "2.71×" or "–"
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f×", a / b; else printf "–" }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
group() { # 1234567 -> 1,234,567
  echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'
}

{
  echo "## tscgi benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')," \
    "node $(node -v), $("$NGINX" -v 2>&1 | sed 's/.*: //')$(has_target php-fpm && echo ", PHP $("$PHP_FPM" -v 2>/dev/null | awk 'NR == 1 { print $2 }')"), wrk -t1, ${DURATION}s per run after ${WARMUP}s warm-up$( ((ROUNDS > 1)) && echo ", median of $ROUNDS interleaved rounds (range in brackets)")."
  echo "Load average before / after the throughput runs: $LOAD_BEFORE / $LOAD_AFTER (other work on the machine skews the numbers; ratios from one run are only as steady as the machine)."
  setup=()
  has_target tscgi && setup+=("tscgi --workers $TSCGI_WORKERS over FastCGI (keepalive $UPSTREAM_KEEPALIVE)")
  if has_target php-fpm; then
    if [ "$PHP_KEEPALIVE" = on ]; then setup+=("PHP-FPM pm static 2 children over FastCGI (keepalive $UPSTREAM_KEEPALIVE)"); else setup+=("PHP-FPM pm static 2 children over FastCGI (no keepalive)"); fi
  fi
  has_target node-http && setup+=("node:http 1 process over HTTP/1.1 (keepalive $UPSTREAM_KEEPALIVE)")
  has_target nginx && setup+=("nginx return (the ceiling)")
  echo "Hello world behind one nginx with 1 worker: $(IFS=';'; echo "${setup[*]}" | sed 's/;/; /g')."
  echo
  echo "| target | conns | req/s | p50 | p99 | errors | × PHP-FPM | × node:http |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for t in tscgi php-fpm node-http nginx; do
    has_target "$t" || continue
    for c in $CONNS; do
      [ -n "${RPS[$t:$c]:-}" ] || continue
      range=
      [ -n "${RANGE[$t:$c]:-}" ] && range=" ($(group "${RANGE[$t:$c]%–*}")–$(group "${RANGE[$t:$c]#*–}"))"
      echo "| ${NAME[$t]} | $c | $(group "${RPS[$t:$c]}")$range | $(ms "${P50[$t:$c]}") | $(ms "${P99[$t:$c]}") | ${ERRTXT[$t:$c]} |" \
        "$(ratio "${RPS[$t:$c]}" "${RPS[php-fpm:$c]:-}") | $(ratio "${RPS[$t:$c]}" "${RPS[node-http:$c]:-}") |"
    done
  done
  if has_target tscgi; then
    echo
    echo "Targets for tscgi: ≥ ${GOAL_VS_PHP}× PHP-FPM, ≥ ${GOAL_VS_NODE}× node:http, 0 errors, worker RSS < $GOAL_RSS_MIB MiB while $MEM_HUMAN streams in or out."
    echo
    for c in $CONNS; do
      [ -n "${RPS[tscgi:$c]:-}" ] || continue
      line="- $c conns:"
      if [ -n "${RPS[php-fpm:$c]:-}" ]; then
        r=$(ratio "${RPS[tscgi:$c]}" "${RPS[php-fpm:$c]}")
        if ge "${RPS[tscgi:$c]}" "$(awk -v b="${RPS[php-fpm:$c]}" -v g="$GOAL_VS_PHP" 'BEGIN { print b * g }')"; then v=PASS; else v=MISS; fi
        line+=" $r PHP-FPM $v;"
      fi
      if [ -n "${RPS[node-http:$c]:-}" ]; then
        r=$(ratio "${RPS[tscgi:$c]}" "${RPS[node-http:$c]}")
        if ge "${RPS[tscgi:$c]}" "$(awk -v b="${RPS[node-http:$c]}" -v g="$GOAL_VS_NODE" 'BEGIN { print b * g }')"; then v=PASS; else v=MISS; fi
        line+=" $r node:http $v;"
      fi
      if [ "${ERRS[tscgi:$c]}" = 0 ]; then v=PASS; else v=MISS; fi
      line+=" errors ${ERRTXT[tscgi:$c]} $v"
      echo "$line"
    done
    if ((${#MEM_ROWS[@]})); then
      echo
      echo "| tscgi worker memory | RSS at start | max RSS (100 ms samples) | peak RSS (VmHWM) | 2nd half vs 1st | bytes | time | throughput | result |"
      echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
      echo "| idle, after startup and one request | $(mib "$IDLE_RSS") | | | | | | | |"
      [ -n "$NODE_IDLE_RSS" ] && echo "| for reference: node:http idle, after one request | $(mib "$NODE_IDLE_RSS") | | | | | | | |"
      for row in "${MEM_ROWS[@]}"; do
        IFS='|' read -r label before trend max hwm bytes secs result <<<"$row"
        if [ "$result" = ok ]; then
          if ((max < GOAL_RSS_MIB * 1024 && hwm < GOAL_RSS_MIB * 1024)); then result=PASS; else result="MISS (≥ $GOAL_RSS_MIB MiB)"; fi
        fi
        tput=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f MiB/s", b / 1048576 / s; else printf "–" }')
        echo "| $label | $(mib "$before") | $(mib "$max") | $(mib "$hwm") | ${trend:-–} | $(group "$bytes") | $(awk -v s="$secs" 'BEGIN { printf "%.1f s", s }') | $tput | $result |"
      done
    fi
  fi
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
