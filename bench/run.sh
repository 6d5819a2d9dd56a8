#!/usr/bin/env bash
# tscgi benchmark: hello world behind one nginx, tscgi (its worker pool, and optionally the single
# process) against PHP-FPM, node:http, uWSGI (Python WSGI), Go's net/http/fcgi and nginx's own `return`; the memory of tscgi's master and
# workers; reloads (SIGHUP) and a kill -9 of a worker under load; then tscgi's memory while 1 GiB
# streams in and out. See bench/README.md.
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
BENCH_TAG=bench
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNS:-16 256}
TARGETS=${BENCH_TARGETS:-tscgi php-fpm node-http uwsgi go-fcgi nginx}
MEMORY=${BENCH_MEMORY:-1}
IDLE=${BENCH_IDLE:-8}
MEM_BYTES=${BENCH_MEM_BYTES:-1073741824}
ROUNDS=${BENCH_ROUNDS:-1}
TSCGI_WORKERS_LIST=${BENCH_TSCGI_WORKERS:-2}
SINGLE_ACCEPT_LIST=${BENCH_SINGLE_ACCEPT:-0}
MEM_WORKERS=${BENCH_MEM_WORKERS:-}
RELOAD=${BENCH_RELOAD:-1}
RELOAD_DURATION=${BENCH_RELOAD_DURATION:-10}
RELOAD_CONNS=${BENCH_RELOAD_CONNS:-64}
RELOAD_EVERY=${BENCH_RELOAD_EVERY:-2}
PHP_KEEPALIVE=${BENCH_PHP_KEEPALIVE:-off on}
UPSTREAM_KEEPALIVE=${BENCH_UPSTREAM_KEEPALIVE:-0 32 256}
OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/tscgi-bench-latest.md}
MEM_HUMAN=$(awk -v b="$MEM_BYTES" 'BEGIN { if (b >= 1073741824) printf "%g GiB", b / 1073741824; else if (b >= 1048576) printf "%g MiB", b / 1048576; else printf "%d bytes", b }')
KEEP=${BENCH_KEEP:-0}

# Targets tscgi is held to.
GOAL_VS_PHP=2.5
GOAL_VS_NODE=1.0
GOAL_P99_CONNS=256     # the p99 target applies at this connection count
GOAL_P99_FRACTION=0.25 # tscgi's p99 at most this fraction of PHP-FPM's
GOAL_IDLE_RSS_MIB=60   # each idle worker
GOAL_RSS_MIB=100       # a worker while MEM_BYTES stream in or out

is_uint "$DURATION" && ((DURATION > 0)) || die "BENCH_DURATION must be a positive number of seconds, got '$DURATION'"
is_uint "$WARMUP" || die "BENCH_WARMUP must be a number of seconds, got '$WARMUP'"
is_uint "$IDLE" || die "BENCH_IDLE must be a number of seconds, got '$IDLE'"
is_uint "$MEM_BYTES" && ((MEM_BYTES > 0)) || die "BENCH_MEM_BYTES must be a positive byte count, got '$MEM_BYTES'"
for k in $UPSTREAM_KEEPALIVE; do is_uint "$k" || die "BENCH_UPSTREAM_KEEPALIVE must list numbers (0 = none), got '$UPSTREAM_KEEPALIVE'"; done
[ -n "$UPSTREAM_KEEPALIVE" ] || die "BENCH_UPSTREAM_KEEPALIVE is empty"

# Several keepalive settings: one whole run per setting (the reload, kill -9 and streaming phases,
# and the toolkit, templates and database scripts, which keep their own nginx and its keepalive,
# only in the last), each report printed as it ends, then their throughput tables side by side.
if [[ $UPSTREAM_KEEPALIVE == *" "* ]]; then
  KA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench-ka.XXXXXX")
  last=${UPSTREAM_KEEPALIVE##* }
  for k in $UPSTREAM_KEEPALIVE; do
    log "keepalive $k: a run of its own"
    sub=(BENCH_UPSTREAM_KEEPALIVE="$k" BENCH_OUT="$KA_DIR/ka-$k.md")
    [ "$k" = "$last" ] || sub+=(BENCH_RELOAD=0 BENCH_MEMORY=0 BENCH_FIRST_REQUEST=0 BENCH_TOOLKIT=0 BENCH_TEMPLATES=0 BENCH_DATABASE=0)
    env "${sub[@]}" bash "$BENCH/run.sh" || { rc=$?; rm -rf "$KA_DIR"; exit "$rc"; }
  done
  {
    echo
    echo "## Throughput by nginx upstream keepalive"
    echo
    echo "One run per setting, in this order: $UPSTREAM_KEEPALIVE (0: a new upstream connection per request, tscgi and node:http included). Ratios are within each run."
    echo
    echo "| upstream keepalive | target | conns | req/s | p99 | errors | × PHP-FPM | × node:http |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|"
    for k in $UPSTREAM_KEEPALIVE; do
      # The first table of each report: | target | conns | req/s | p50 | p99 | errors | × PHP | × node | ...
      awk -F' *\\| *' -v k="$k" '
        /^\| target \| conns \| req\/s/ { on = 1; next }
        on && /^\|---/ { next }
        on && !/^\|/ { exit }
        on { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", k, $2, $3, $4, $6, $7, $8, $9 }
      ' "$KA_DIR/ka-$k.md" 2>/dev/null || true
    done
  } >"$KA_DIR/summary.md"
  cat "$KA_DIR/summary.md"
  { for k in $UPSTREAM_KEEPALIVE; do cat "$KA_DIR/ka-$k.md"; echo; done; cat "$KA_DIR/summary.md"; } >"$OUT" 2>/dev/null &&
    log "results written to $OUT" || log "could not write $OUT"
  rm -rf "$KA_DIR"
  exit 0
fi
for k in $PHP_KEEPALIVE; do [[ $k == on || $k == off ]] || die "BENCH_PHP_KEEPALIVE must list on and/or off, got '$PHP_KEEPALIVE'"; done
# shellcheck disable=SC2086
PHP_KEEPALIVE=$(printf '%s\n' $PHP_KEEPALIVE | awk '!seen[$1]++' | tr '\n' ' ')
PHP_KEEPALIVE=${PHP_KEEPALIVE% }
[ -n "$PHP_KEEPALIVE" ] || die "BENCH_PHP_KEEPALIVE is empty"
# Without upstream keepalive, PHP-FPM "with keepalive" would be the same pool as without.
[ "$UPSTREAM_KEEPALIVE" != 0 ] || PHP_KEEPALIVE=off
is_uint "$ROUNDS" && ((ROUNDS > 0 && ROUNDS <= 20)) || die "BENCH_ROUNDS must be 1 to 20, got '$ROUNDS'"
[[ $RELOAD == 0 || $RELOAD == 1 ]] || die "BENCH_RELOAD must be 0 or 1, got '$RELOAD'"
is_uint "$RELOAD_DURATION" && ((RELOAD_DURATION >= 3 && RELOAD_DURATION <= 120)) || die "BENCH_RELOAD_DURATION must be 3 to 120 seconds, got '$RELOAD_DURATION'"
is_uint "$RELOAD_CONNS" && ((RELOAD_CONNS > 0)) || die "BENCH_RELOAD_CONNS must be a positive number, got '$RELOAD_CONNS'"
is_uint "$RELOAD_EVERY" && ((RELOAD_EVERY > 0 && RELOAD_EVERY < RELOAD_DURATION)) || die "BENCH_RELOAD_EVERY must be 1 to BENCH_RELOAD_DURATION - 1 seconds, got '$RELOAD_EVERY'"
for c in $CONNS; do is_uint "$c" && ((c > 0)) || die "BENCH_CONNS must list positive numbers, got '$CONNS'"; done
for t in $TARGETS; do
  case $t in tscgi | php-fpm | node-http | uwsgi | go-fcgi | nginx) ;; *) die "unknown target '$t' in BENCH_TARGETS (tscgi php-fpm node-http uwsgi go-fcgi nginx)" ;; esac
done
has_target() { [[ " $TARGETS " == *" $1 "* ]]; }
# Lists without repeats, numbers normalised (007 is 7).
uniq_words() { printf '%s\n' "$@" | awk 'NF && !seen[$1 + 0]++ { printf "%s%d", sep, $1; sep = " " }'; }
for w in $TSCGI_WORKERS_LIST; do is_uint "$w" && ((10#$w <= 64)) || die "BENCH_TSCGI_WORKERS must list numbers of workers (0 to 64), got '$TSCGI_WORKERS_LIST'"; done
for s in $SINGLE_ACCEPT_LIST; do [[ $s == 0 || $s == 1 ]] || die "BENCH_SINGLE_ACCEPT must list 0 and/or 1, got '$SINGLE_ACCEPT_LIST'"; done
# shellcheck disable=SC2086
TSCGI_WORKERS_LIST=$(uniq_words $TSCGI_WORKERS_LIST)
# shellcheck disable=SC2086
SINGLE_ACCEPT_LIST=$(uniq_words $SINGLE_ACCEPT_LIST)
[ -n "$TSCGI_WORKERS_LIST" ] || die "BENCH_TSCGI_WORKERS is empty"
[ -n "$SINGLE_ACCEPT_LIST" ] || die "BENCH_SINGLE_ACCEPT is empty"

# tscgi variants, one per (workers, single accept) pair: each its own tscgi behind its own nginx
# server, measured like any other target. Single accept only matters between processes sharing a
# socket, so with --workers 0 it is run only when it is the only value asked for.
VARIANTS=()
declare -A V_WORKERS V_SA V_PORT V_FRONT
if has_target tscgi; then
  for w in $TSCGI_WORKERS_LIST; do
    for s in $SINGLE_ACCEPT_LIST; do
      if ((s == 1 && w == 0)) && [[ " $SINGLE_ACCEPT_LIST " == *" 0 "* ]]; then continue; fi
      v="tscgi-w$w"
      ((s == 0)) || v+="-sa"
      VARIANTS+=("$v")
      V_WORKERS[$v]=$w V_SA[$v]=$s
    done
  done
fi
variant_name() {
  local w=${V_WORKERS[$1]} n
  if ((w == 0)); then n="1 process"; elif ((w == 1)); then n="1 worker"; else n="$w workers"; fi
  ((V_SA[$1] == 0)) || n+=", single accept"
  echo "tscgi ($n)"
}
# PHP-FPM targets: one per keepalive setting, each its own pool of 2 children in the one php-fpm
# (with keepalive, the children keep the connections nginx keeps: a pool cannot serve both); the
# first is the baseline of the × PHP-FPM ratios.
PHP_TARGETS=()
declare -A PHP_KA
if has_target php-fpm; then
  for k in $PHP_KEEPALIVE; do
    if [ "$k" = on ]; then t=php-fpm; else t=php-fpm-nk; fi
    PHP_TARGETS+=("$t")
    PHP_KA[$t]=$k
  done
fi
BASE_PHP=${PHP_TARGETS[0]:-}

# The memory phases run on one variant (by default the one with the most workers), the reload and
# kill -9 phases on the first pool variant (without single accept when there is one).
MEM_VARIANT='' RELOAD_VARIANT=''
if ((${#VARIANTS[@]})); then
  if [ -z "$MEM_WORKERS" ]; then
    MEM_WORKERS=$(printf '%s\n' $TSCGI_WORKERS_LIST | sort -n | tail -n 1)
  fi
  is_uint "$MEM_WORKERS" || die "BENCH_MEM_WORKERS must be a number, got '$MEM_WORKERS'"
  for v in "${VARIANTS[@]}"; do
    if ((V_WORKERS[$v] == 10#$MEM_WORKERS)); then MEM_VARIANT=$v; break; fi
  done
  if [ -z "$MEM_VARIANT" ] && [ "$MEMORY" = 1 ]; then
    die "BENCH_MEM_WORKERS=$MEM_WORKERS is not one of BENCH_TSCGI_WORKERS ($TSCGI_WORKERS_LIST)"
  fi
  for s in 0 1; do
    for v in "${VARIANTS[@]}"; do
      if [ -z "$RELOAD_VARIANT" ] && ((V_WORKERS[$v] > 0 && V_SA[$v] == s)); then RELOAD_VARIANT=$v; fi
    done
  done
fi

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing, each only when missing.

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if has_target php-fpm && ! find_php_fpm >/dev/null; then missing+=(php8.2-fpm); fi
if has_target uwsgi; then
  command -v uwsgi >/dev/null 2>&1 || missing+=(uwsgi-core)
  compgen -G "/usr/lib/uwsgi/plugins/python3*_plugin.so" >/dev/null || missing+=(uwsgi-plugin-python3)
fi
if has_target go-fcgi && ! command -v go >/dev/null 2>&1; then missing+=(golang-go); fi
if ((${#missing[@]})); then install_missing "${missing[@]}"; fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found after install"
if has_target php-fpm; then PHP_FPM=$(find_php_fpm) || die "php-fpm not found after install"; fi
HAVE_SS=0
command -v ss >/dev/null 2>&1 && HAVE_SS=1

# ---------------------------------------------------------------------------------------------
# Processes: tscgi's workers are the Node children of the master started here.

declare -A URL NAME PID_OF LOG_OF

# worker_pids VARIANT: the processes that run the scripts: the master's Node children, or the one
# process itself with --workers 0.
worker_pids() {
  if ((${V_WORKERS[$1]:-0} == 0)); then echo "${PID_OF[$1]}"; else children_of "${PID_OF[$1]}"; fi
}
is_pool() { [[ -n ${V_WORKERS[$1]:-} ]] && ((V_WORKERS[$1] > 0)); }
# rss_kib PID FIELD: VmRSS or VmHWM of PID in KiB (0 when gone).
rss_kib() {
  local v
  v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null) || v=
  echo "${v:-0}"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# ---------------------------------------------------------------------------------------------
# Run directory and cleanup.

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench.XXXXXX")
chmod 755 "$RUN"
PIDS=()
CLIENT_PID=

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null
  local kids=() v k
  for v in "${VARIANTS[@]}"; do
    if [ -n "${PID_OF[$v]:-}" ]; then
      for k in $(children_of "${PID_OF[$v]}"); do kids+=("$k"); done
    fi
  done
  if ((${#PIDS[@]})); then
    # Reverse start order: nginx first, then the backends.
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

# Free loopback ports: bind them all at once, report, release.
NPORTS=$((11 + 2 * ${#VARIANTS[@]}))
# shellcheck disable=SC2207
PORTS=($(free_ports "$NPORTS"))
((${#PORTS[@]} == NPORTS)) || die "could not find free ports"
P_RETURN=${PORTS[0]} P_FRONT_PHP=${PORTS[1]} P_FRONT_NODE=${PORTS[2]} P_PHP=${PORTS[3]} P_NODE=${PORTS[4]}
P_FRONT_PHP_NK=${PORTS[5]} P_PHP_NK=${PORTS[6]}
P_UWSGI=${PORTS[7]} P_FRONT_UWSGI=${PORTS[8]} P_GO=${PORTS[9]} P_FRONT_GO=${PORTS[10]}
i=11
for v in "${VARIANTS[@]}"; do
  V_PORT[$v]=${PORTS[i]} V_FRONT[$v]=${PORTS[i + 1]}
  i=$((i + 2))
done

# wait_workers VARIANT: until the pool runs exactly its number of workers (20 s at most).
wait_workers() {
  local i n
  is_pool "$1" || return 0
  for ((i = 0; i < 200; i++)); do
    n=$(children_of "${PID_OF[$1]}" | wc -l)
    ((n == V_WORKERS[$1])) && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Backends.

if ((${#VARIANTS[@]})); then
  [ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"
  HELP=$(cd "$ROOT" && timeout 20 node bin/tscgi.js --help 2>&1) || die "node bin/tscgi.js --help failed: $HELP"
  TSCGI_ARGS=(serve --root "$BENCH/cgi-bin")
  # Flags the bench relies on, each only if this build has it.
  has_flag() { grep -q -- "$1 " <<<"$HELP"; }
  HAS_WORKERS_FLAG=0
  if has_flag --workers; then
    HAS_WORKERS_FLAG=1
  elif [[ " $TSCGI_WORKERS_LIST " != " 0 " ]]; then
    die "this build of tscgi has no --workers flag; run with BENCH_TSCGI_WORKERS=0"
  fi
  if has_flag --access-log; then TSCGI_ARGS+=(--access-log off); fi
  if has_flag --max-body-size; then
    TSCGI_ARGS+=(--max-body-size $((MEM_BYTES * 2)))
  else
    log "note: tscgi --help lists no --max-body-size; the upload runs under tscgi's default limit"
  fi
  if has_flag --request-timeout; then TSCGI_ARGS+=(--request-timeout 10m); fi
  start_tscgi() { # variant
    local v=$1 args
    args=("${TSCGI_ARGS[@]}" --listen "127.0.0.1:${V_PORT[$1]}")
    ((HAS_WORKERS_FLAG == 0)) || args+=(--workers "${V_WORKERS[$v]}")
    log "starting ${NAME[$v]}: $( ((V_SA[$v] == 0)) || echo "UV_TCP_SINGLE_ACCEPT=1 ")node bin/tscgi.js ${args[*]}"
    # From the run directory, so no conf/tscgi.conf of the checkout's applies. The environment
    # reaches the workers, which the master forks with its own.
    (
      cd "$RUN"
      if ((V_SA[$v] == 1)); then export UV_TCP_SINGLE_ACCEPT=1; else unset UV_TCP_SINGLE_ACCEPT; fi
      exec node "$ROOT/bin/tscgi.js" "${args[@]}"
    ) >>"$RUN/$v.log" 2>&1 &
    PID_OF[$v]=$!
    PIDS+=("$!")
  }
  stop_tscgi() { # variant
    local kids
    kids=$(children_of "${PID_OF[$1]}")
    stop_pids "${PID_OF[$1]}"
    drop_pid "${PID_OF[$1]}"
    # shellcheck disable=SC2086
    stop_workers $kids
  }
  for v in "${VARIANTS[@]}"; do
    NAME[$v]=$(variant_name "$v")
    URL[$v]="http://127.0.0.1:${V_FRONT[$v]}/hello"
    LOG_OF[$v]="$RUN/$v.log"
    start_tscgi "$v"
  done
fi

PHP_PID=
if has_target php-fpm; then
  PHP_USER=
  [ "$(id -u)" -eq 0 ] && PHP_USER=$'user = root\ngroup = root'
  {
    cat <<EOF
[global]
pid = $RUN/php-fpm.pid
error_log = $RUN/php-fpm.log
daemonize = no
EOF
    for t in "${PHP_TARGETS[@]}"; do
      if [ "${PHP_KA[$t]}" = on ]; then port=$P_PHP; else port=$P_PHP_NK; fi
      cat <<EOF

[${t//-/_}]
$PHP_USER
listen = 127.0.0.1:$port
pm = static
pm.max_children = 2
pm.max_requests = 0
catch_workers_output = yes
EOF
    done
  } >"$RUN/php-fpm.conf"
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

# uWSGI as its docs deploy it behind nginx: a master and 2 worker processes speaking the uwsgi
# protocol, one connection per request (the protocol has no keepalive). --die-on-term: SIGTERM
# stops it (uWSGI 2.0 otherwise reloads on TERM).
UWSGI_PID=
if has_target uwsgi; then
  log "starting uWSGI (2 processes) on 127.0.0.1:$P_UWSGI"
  uwsgi --plugin python3 --master --processes 2 --socket "127.0.0.1:$P_UWSGI" --listen 1024 \
    --wsgi-file "$BENCH/peers/hello_wsgi.py" --disable-logging --die-on-term >"$RUN/uwsgi.log" 2>&1 &
  UWSGI_PID=$!
  PIDS+=("$UWSGI_PID")
fi

# Go's net/http/fcgi, built here (the standard library only), GOMAXPROCS = the cores.
GO_PID=
if has_target go-fcgi; then
  log "building and starting Go net/http/fcgi on 127.0.0.1:$P_GO"
  (cd "$BENCH/peers/go-fcgi" && GOCACHE="$RUN/go-cache" GOFLAGS=-mod=mod go build -o "$RUN/go-fcgi" .) >"$RUN/go-build.log" 2>&1 ||
    { tail_log "$RUN/go-build.log"; die "go build of bench/peers/go-fcgi failed"; }
  "$RUN/go-fcgi" "127.0.0.1:$P_GO" >"$RUN/go-fcgi.log" 2>&1 &
  GO_PID=$!
  PIDS+=("$GO_PID")
fi

# ---------------------------------------------------------------------------------------------
# nginx: one worker, one server per target, no access log.

mkdir -p "$RUN/nginx-tmp"
write_fastcgi_params "$RUN/fastcgi_params"
# Upstream keepalive 0: no connection cache, so nginx opens one per request (and tells a FastCGI
# server so: fastcgi_keep_conn off, as PHP's snippets do).
KA_LINES=$(printf '    keepalive %s;\n    keepalive_requests 1000000;' "$UPSTREAM_KEEPALIVE") KEEP_CONN=on
if ((UPSTREAM_KEEPALIVE == 0)); then KA_LINES='    # no keepalive' KEEP_CONN=off; fi

{
  nginx_conf_head "$RUN"
  cat <<EOF

  # The ceiling: nginx answering by itself.
  server {
    listen 127.0.0.1:$P_RETURN;
    location / { return 200 "Hello, world"; }
  }
EOF
  for t in "${PHP_TARGETS[@]}"; do
    up=${t//-/_}
    if [ "${PHP_KA[$t]}" = on ]; then front=$P_FRONT_PHP port=$P_PHP; else front=$P_FRONT_PHP_NK port=$P_PHP_NK; fi
    cat <<EOF

  upstream $up {
    server 127.0.0.1:$port;
$( [ "${PHP_KA[$t]}" = on ] && printf '    keepalive %s;\n    keepalive_requests 1000000;' "$UPSTREAM_KEEPALIVE" )
  }
  server {
    listen 127.0.0.1:$front;
    root $BENCH/php;
    location ~ \.php\$ {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn ${PHP_KA[$t]};
      fastcgi_pass $up;
    }
  }
EOF
  done
  if has_target node-http; then
    cat <<EOF

  upstream node_http {
    server 127.0.0.1:$P_NODE;
$KA_LINES
  }
  server {
    listen 127.0.0.1:$P_FRONT_NODE;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_pass http://node_http;
    }
    # The streaming reference rows: as tscgi's /upload and /download, neither buffered nor spooled.
    location ~ ^/(upload|download)\$ {
      client_max_body_size 2g;
      proxy_request_buffering off;
      proxy_max_temp_file_size 0;
      proxy_send_timeout 600s;
      proxy_read_timeout 600s;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://node_http;
    }
  }
EOF
  fi
  if has_target uwsgi; then
    cat <<EOF

  server {
    listen 127.0.0.1:$P_FRONT_UWSGI;
    location / {
      uwsgi_param REQUEST_METHOD \$request_method;
      uwsgi_param REQUEST_URI \$request_uri;
      uwsgi_param QUERY_STRING \$query_string;
      uwsgi_param PATH_INFO \$document_uri;
      uwsgi_param SERVER_PROTOCOL \$server_protocol;
      uwsgi_param SERVER_NAME \$server_name;
      uwsgi_param SERVER_PORT \$server_port;
      uwsgi_param REMOTE_ADDR \$remote_addr;
      uwsgi_param CONTENT_TYPE \$content_type;
      uwsgi_param CONTENT_LENGTH \$content_length;
      uwsgi_pass 127.0.0.1:$P_UWSGI;
    }
  }
EOF
  fi
  if has_target go-fcgi; then
    cat <<EOF

  upstream go_fcgi {
    server 127.0.0.1:$P_GO;
$KA_LINES
  }
  server {
    listen 127.0.0.1:$P_FRONT_GO;
    location / {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn $KEEP_CONN;
      fastcgi_pass go_fcgi;
    }
  }
EOF
  fi
  for v in "${VARIANTS[@]}"; do
    up=${v//-/_}
    cat <<EOF

  # ${NAME[$v]}
  upstream $up {
    server 127.0.0.1:${V_PORT[$v]};
$KA_LINES
  }
  server {
    listen 127.0.0.1:${V_FRONT[$v]};
    root $BENCH/cgi-bin;
    location / {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn $KEEP_CONN;
      fastcgi_pass $up;
    }
    # Memory benchmark: bodies stream through, neither buffered nor spooled to disk.
    location = /upload {
      include $RUN/fastcgi_params;
      client_max_body_size 2g;
      fastcgi_request_buffering off;
      fastcgi_send_timeout 600s;
      fastcgi_read_timeout 600s;
      fastcgi_keep_conn on;
      fastcgi_pass $up;
    }
    location = /download {
      include $RUN/fastcgi_params;
      fastcgi_max_temp_file_size 0;
      fastcgi_read_timeout 600s;
      fastcgi_keep_conn on;
      fastcgi_pass $up;
    }
  }
EOF
  done
  echo "}"
} >"$RUN/nginx.conf"

"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' 2>"$RUN/nginx-t.log" || { tail_log "$RUN/nginx-t.log"; die "nginx rejected $RUN/nginx.conf"; }
fronts="127.0.0.1:$P_RETURN (return)"
for t in "${PHP_TARGETS[@]}"; do
  if [ "${PHP_KA[$t]}" = on ]; then fronts+=", :$P_FRONT_PHP (php-fpm)"; else fronts+=", :$P_FRONT_PHP_NK (php-fpm, no keepalive)"; fi
done
has_target node-http && fronts+=", :$P_FRONT_NODE (node:http)"
has_target uwsgi && fronts+=", :$P_FRONT_UWSGI (uWSGI)"
has_target go-fcgi && fronts+=", :$P_FRONT_GO (Go net/http/fcgi)"
for v in "${VARIANTS[@]}"; do fronts+=", :${V_FRONT[$v]} (${NAME[$v]})"; done
log "starting nginx on $fronts"
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' >"$RUN/nginx.out" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
touch "$RUN/nginx-error.log"

# ---------------------------------------------------------------------------------------------
# Readiness and a correctness check of each target's answer.

URL[nginx]="http://127.0.0.1:$P_RETURN/" NAME[nginx]="nginx return" PID_OF[nginx]=$NGINX_PID
URL[php-fpm]="http://127.0.0.1:$P_FRONT_PHP/hello.php" NAME[php-fpm]="PHP-FPM" PID_OF[php-fpm]=$PHP_PID
URL[php-fpm-nk]="http://127.0.0.1:$P_FRONT_PHP_NK/hello.php" NAME[php-fpm-nk]="PHP-FPM (no keepalive)" PID_OF[php-fpm-nk]=$PHP_PID
URL[node-http]="http://127.0.0.1:$P_FRONT_NODE/" NAME[node-http]="node:http" PID_OF[node-http]=$NODE_PID
LOG_OF[nginx]="$RUN/nginx-error.log" LOG_OF[php-fpm]="$RUN/php-fpm.log" LOG_OF[php-fpm-nk]="$RUN/php-fpm.log" LOG_OF[node-http]="$RUN/node-http.log"
URL[uwsgi]="http://127.0.0.1:$P_FRONT_UWSGI/" NAME[uwsgi]="uWSGI (Python)" PID_OF[uwsgi]=$UWSGI_PID LOG_OF[uwsgi]="$RUN/uwsgi.log"
URL[go-fcgi]="http://127.0.0.1:$P_FRONT_GO/" NAME[go-fcgi]="Go net/http/fcgi" PID_OF[go-fcgi]=$GO_PID LOG_OF[go-fcgi]="$RUN/go-fcgi.log"

# The targets in the order they are measured (interleaved) and reported.
RUN_TARGETS=()
for t in $TARGETS; do
  case $t in
    tscgi) RUN_TARGETS+=("${VARIANTS[@]}") ;;
    php-fpm) RUN_TARGETS+=("${PHP_TARGETS[@]}") ;;
    *) RUN_TARGETS+=("$t") ;;
  esac
done
REPORT_TARGETS=("${VARIANTS[@]}" "${PHP_TARGETS[@]}")
for t in node-http uwsgi go-fcgi nginx; do has_target "$t" && REPORT_TARGETS+=("$t"); done

NOTES=()
wait_ok "${URL[nginx]}" "$NGINX_PID" nginx || { tail_log "$RUN/nginx.out"; tail_log "$RUN/nginx-error.log"; die "nginx did not start"; }
for t in "${RUN_TARGETS[@]}"; do
  if ! wait_ok "${URL[$t]}" "${PID_OF[$t]}" "$t"; then
    tail_log "${LOG_OF[$t]}"
    [[ $t == php-fpm* ]] && tail_log "$RUN/php-fpm.out"
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
for v in "${VARIANTS[@]}"; do
  if ! wait_workers "$v"; then
    NOTES+=("${NAME[$v]}: $(children_of "${PID_OF[$v]}" | wc -l) worker processes 20 s after start, expected ${V_WORKERS[$v]}")
  fi
done

# ---------------------------------------------------------------------------------------------
# Memory of each tscgi process: fresh (now, idle), after the load (idle again), peak during it.
# MEM[variant:moment] = "pid=KiB ..." of the master then its workers (with --workers 0, the one
# process); the moment is fresh, after or peak.

declare -A MEM CPU
snapshot() { # variant moment field: MEM[variant:moment] and CPU[variant:moment]
  local v=$1 pid list cpu
  list="${PID_OF[$v]}=$(rss_kib "${PID_OF[$v]}" "$3")"
  cpu="${PID_OF[$v]}=$(cpu_ticks "${PID_OF[$v]}")"
  if is_pool "$v"; then
    for pid in $(children_of "${PID_OF[$v]}"); do
      list+=" $pid=$(rss_kib "$pid" "$3")"
      cpu+=" $pid=$(cpu_ticks "$pid")"
    done
  fi
  MEM[$v:$2]=$list CPU[$v:$2]=$cpu
}
# pool_mem VARIANT: "pss rss uss" in KiB, summed over the master (or the one process) and every
# child of it, Node or not (the compiler service too). PSS shares each page among the processes
# mapping it, so the node binary and the pages the workers share with each other count once;
# USS (private pages) is what the pool alone holds.
pool_mem() {
  local pid pss=0 rss=0 uss=0 line
  for pid in "${PID_OF[$1]}" $(children_of "${PID_OF[$1]}" any); do
    line=$(awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } $1 == "Private_Clean:" || $1 == "Private_Dirty:" { u += $2 } END { print p + 0, r + 0, u + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    set -- $line
    pss=$((pss + $1)) rss=$((rss + $2)) uss=$((uss + $3))
  done
  echo "$pss $rss $uss"
}
declare -A POOL_MEM
# pool_mem_max KEY VARIANT: keeps in POOL_MEM[KEY] the largest PSS reading so far (with its RSS and USS).
pool_mem_max() {
  local now old
  now=$(pool_mem "$2") old=${POOL_MEM[$1]:-0 0 0}
  if ((${now%% *} > ${old%% *})); then POOL_MEM[$1]=$now; fi
}
reset_peak() { # variant: VmHWM back to the current RSS, for the master and the workers
  local pid
  for pid in "${PID_OF[$1]}" $(children_of "${PID_OF[$1]}"); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}

NODE_IDLE_RSS=
NODE_IDLE_PSS=
if has_target node-http; then
  NODE_IDLE_RSS=$(rss_kib "$NODE_PID" VmRSS)
  NODE_IDLE_PSS=$(awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } $1 == "Private_Clean:" || $1 == "Private_Dirty:" { u += $2 } END { print p + 0, r + 0, u + 0 }' "/proc/$NODE_PID/smaps_rollup" 2>/dev/null || true)
fi
if ((${#VARIANTS[@]})); then
  sleep 1
  for v in "${VARIANTS[@]}"; do
    snapshot "$v" fresh VmRSS
    POOL_MEM[$v:fresh]=$(pool_mem "$v")
    reset_peak "$v"
  done
fi

# ---------------------------------------------------------------------------------------------
# Throughput: wrk, one thread. Targets are interleaved (round by round, connection count by
# connection count) so that a disturbance on the machine hits them alike; each (target, conns)
# is warmed once, and with several rounds the median run is reported.

declare -A RPS P50 P99 ERRS ERRTXT RANGE DEAD STALLED BAL BALANCE BCPU NCPU
# CPU per request of the measured run, in µs: the target's processes (R_BCPU) and nginx's workers (R_NCPU).
declare -A R_BCPU R_NCPU
# R_STATUS ... R_TIMEOUT are filled and read through indirect names (printf -v, ${!v}).
# shellcheck disable=SC2034
declare -A R_RPS R_P50 R_P99 R_STATUS R_CONNECT R_READ R_WRITE R_TIMEOUT

# conns_per_worker VARIANT: "a/b|q": the FastCGI connections each worker holds (workers by pid;
# with --workers 0, the one process), and q, those in the accept queue (the listening socket's
# Recv-Q): connected, not yet accepted by any process.
conns_per_worker() {
  local pid counts=() est n q
  est=$(ss -Htnp state established "( sport = :${V_PORT[$1]} )" 2>/dev/null || true)
  for pid in $(worker_pids "$1"); do
    n=$(grep -c "pid=$pid," <<<"$est" || true)
    counts+=("${n:-0}")
  done
  q=$(ss -Hltn "( sport = :${V_PORT[$1]} )" 2>/dev/null | awk 'NR == 1 { print $2 }' || true)
  echo "$(IFS=/; echo "${counts[*]}")|${q:-?}"
}

run_wrk() { # target conns duration outfile [balance-key]
  # In the background and waited for, so that a signal stops the run at once.
  wrk -t1 -c"$2" -d"$3s" --timeout 10s --latency -s "$BENCH/wrk-report.lua" "${URL[$1]}" >"$4" 2>&1 &
  CLIENT_PID=$!
  if [ -n "${5:-}" ]; then
    # Halfway through: how the pool's workers share nginx's connections, and its memory.
    # By the clock: on a loaded machine 25 rounds of sleep 0.1 can outlast the whole run.
    local half=$(($(now_ms) + $3 * 500))
    while (($(now_ms) < half)); do
      kill -0 "$CLIENT_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$CLIENT_PID" 2>/dev/null; then
      if ((HAVE_SS)); then BAL[$5]=$(conns_per_worker "$1"); fi
      pool_mem_max "$1:load" "$1"
    fi
  fi
  local rc=0
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=
  return "$rc"
}

measure() { # target conns round
  local t=$1 c=$2 r=$3 k line out="$RUN/wrk-$1-$2-$3.txt" served bkey=
  if ((r == 1 && WARMUP > 0)); then
    log "warming ${NAME[$t]} at $c connections (${WARMUP}s)"
    run_wrk "$t" "$c" "$WARMUP" "$RUN/wrk-$t-$c-warm.txt" || true
  fi
  log "measuring ${NAME[$t]} at $c connections (${DURATION}s$( ((ROUNDS > 1)) && echo ", round $r of $ROUNDS"))"
  [ -z "${V_WORKERS[$t]:-}" ] || bkey="$t:$c:$r"
  # The CPU the run cost the target (its process and every child) and nginx's workers; the nginx
  # target has no backend of its own.
  local -a backend=() ngx=()
  local b0 n0
  read -ra ngx <<<"$(children_of "$NGINX_PID" any | tr '\n' ' ')"
  [ "$t" = nginx ] || read -ra backend <<<"${PID_OF[$t]} $(children_of "${PID_OF[$t]}" any | tr '\n' ' ')"
  b0=$(ticks_sum "${backend[@]}") n0=$(ticks_sum "${ngx[@]}")
  run_wrk "$t" "$c" "$DURATION" "$out" "$bkey" || true
  local b1 n1
  b1=$(ticks_sum "${backend[@]}") n1=$(ticks_sum "${ngx[@]}")
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
  ((${#backend[@]})) && R_BCPU[$t:$c:$r]=$(per_request_us $((b1 - b0)) "${W[requests]}")
  R_NCPU[$t:$c:$r]=$(per_request_us $((n1 - n0)) "${W[requests]}")
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

# Every backend's memory after the load: "pss rss hwm" in KiB over its process and its children,
# hwm being the sum of their peaks (VmHWM: since start for the peers, since the fresh reading for
# tscgi).
declare -A BACKEND_MEM
backend_mem() { # PID
  local pid pss=0 rss=0 hwm=0 p r h
  for pid in "$1" $(children_of "$1" any); do
    read -r p r < <(awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } END { print p + 0, r + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    h=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status" 2>/dev/null) || h=0
    pss=$((pss + p)) rss=$((rss + r)) hwm=$((hwm + ${h:-0}))
  done
  echo "$pss $rss $hwm"
}
MEM_BACKENDS=("${VARIANTS[@]}")
((${#PHP_TARGETS[@]})) && MEM_BACKENDS+=("${PHP_TARGETS[0]}")
for t in node-http uwsgi go-fcgi nginx; do has_target "$t" && MEM_BACKENDS+=("$t"); done

# read_after TARGET, just measured for the last time: its memory after the load, once idle for
# IDLE s (past tscgi's worker_idle_gc, 6 s, after which its workers collect). Each backend is read
# after its own runs, not after the others': V8 gives memory back some seconds after a load, so a
# reading taken after the other targets' runs would depend on how many of them follow it.
# PHP-FPM's pools share one master: it is read after the last of them.
read_after() {
  local t=$1 key=$1
  if [[ " ${PHP_TARGETS[*]} " == *" $t "* ]]; then
    [ "$t" = "${PHP_TARGETS[${#PHP_TARGETS[@]} - 1]}" ] || return 0
    key=${PHP_TARGETS[0]}
  fi
  [[ " ${MEM_BACKENDS[*]} " == *" $key "* ]] && [ -z "${DEAD[$t]:-}" ] || return 0
  sleep "$IDLE"
  if [[ " ${VARIANTS[*]} " == *" $t "* ]]; then
    snapshot "$t" after VmRSS
    snapshot "$t" peak VmHWM
    POOL_MEM[$t:after]=$(pool_mem "$t")
  fi
  [ -z "${PID_OF[$key]:-}" ] || BACKEND_MEM[$key]=$(backend_mem "${PID_OF[$key]}")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
LAST_CONNS=${CONNS##* }
for ((round = 1; round <= ROUNDS; round++)); do
  for c in $CONNS; do
    for t in "${RUN_TARGETS[@]}"; do
      [ -n "${DEAD[$t]:-}" ] || measure "$t" "$c" "$round"
      if ((round == ROUNDS)) && [ "$c" = "$LAST_CONNS" ]; then read_after "$t"; fi
    done
  done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Aggregate: the median run by req/s (the lower median for an even count), errors summed.
for t in "${RUN_TARGETS[@]}"; do
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
    BCPU[$t:$c]=${R_BCPU[$t:$c:$r]:-} NCPU[$t:$c]=${R_NCPU[$t:$c:$r]:-}
    [ -n "${BAL[$t:$c:$r]:-}" ] && BALANCE[$t:$c]=${BAL[$t:$c:$r]}
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
# The pool under disruption: wrk through nginx while the master is sent SIGHUP every
# RELOAD_EVERY seconds (graceful reload: new workers start, the old ones finish), then while one
# worker is killed with SIGKILL a third of the way in. Figures, not pass/fail.

declare -A PH
disrupt() { # reload | kill
  local key=$1 v=$RELOAD_VARIANT out="$RUN/wrk-$1.txt" master err_start log_start before cur n maxw=0
  local start now next_hup hups=0 max_hups victim='' killed_at=0 respawn='' kill_at p i line settle
  master=${PID_OF[$v]}
  err_start=$(wc -l <"$RUN/nginx-error.log")
  log_start=$(wc -l <"${LOG_OF[$v]}")
  before=" $(worker_pids "$v" | tr '\n' ' ') "
  max_hups=$(((RELOAD_DURATION - 1) / RELOAD_EVERY))
  if [ "$key" = reload ]; then
    log "under load: SIGHUP to ${NAME[$v]} every ${RELOAD_EVERY}s ($max_hups times), wrk $RELOAD_CONNS connections for ${RELOAD_DURATION}s"
  else
    log "under load: kill -9 of one ${NAME[$v]} worker at $((RELOAD_DURATION / 3))s, wrk $RELOAD_CONNS connections for ${RELOAD_DURATION}s"
  fi
  wrk -t1 -c"$RELOAD_CONNS" -d"${RELOAD_DURATION}s" --timeout 10s --latency -s "$BENCH/wrk-report.lua" "${URL[$v]}" >"$out" 2>&1 &
  CLIENT_PID=$!
  start=$(now_ms)
  next_hup=$((start + RELOAD_EVERY * 1000))
  kill_at=$((start + RELOAD_DURATION * 1000 / 3))
  while kill -0 "$CLIENT_PID" 2>/dev/null; do
    now=$(now_ms)
    ((now - start <= (RELOAD_DURATION + 15) * 1000)) || break
    cur=$(children_of "$master")
    n=$(wc -w <<<"$cur")
    ((n <= maxw)) || maxw=$n
    if [ "$key" = reload ] && ((hups < max_hups && now >= next_hup)); then
      kill -HUP "$master" 2>/dev/null || true
      hups=$((hups + 1))
      next_hup=$((next_hup + RELOAD_EVERY * 1000))
    fi
    if [ "$key" = kill ]; then
      if [ -z "$victim" ] && ((now >= kill_at)); then
        # The newest worker: the one serving, not one still finishing after a reload.
        victim=$(tail -n 1 <<<"$cur")
        if [ -n "$victim" ]; then
          kill -KILL "$victim" 2>/dev/null || true
          killed_at=$now
        fi
      elif [ -n "$victim" ] && [ -z "$respawn" ]; then
        for p in $cur; do
          if [[ $before != *" $p "* ]]; then respawn=$((now - killed_at)); fi
        done
      fi
    fi
    sleep 0.1
  done
  if kill -0 "$CLIENT_PID" 2>/dev/null; then kill -TERM "$CLIENT_PID" 2>/dev/null || true; fi
  wait "$CLIENT_PID" || true
  CLIENT_PID=
  # Until the pool is back to its number of workers (the old ones gone), 30 s at most.
  settle=
  start=$(now_ms)
  for ((i = 0; i < 300; i++)); do
    n=$(children_of "$master" | wc -l)
    if ((n == V_WORKERS[$v])); then settle=$(($(now_ms) - start)); break; fi
    sleep 0.1
  done
  line=$(grep '^WRK ' "$out" || true)
  local -A W=()
  for kv in ${line#WRK }; do W[${kv%%=*}]=${kv#*=}; done
  PH[$key:requests]=${W[requests]:-?}
  PH[$key:rps]=$(awk -v n="${W[requests]:-0}" -v d="${W[duration_us]:-0}" 'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
  PH[$key:p99]=${W[p99_us]:-0}
  # wrk's own lines, as it prints them.
  PH[$key:non2xx]=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  PH[$key:non2xx]=${PH[$key:non2xx]:-0}
  PH[$key:sock]=$(sed -n 's/^ *Socket errors: //p' "$out")
  PH[$key:sock]=${PH[$key:sock]:-none}
  PH[$key:sockn]=$((${W[connect]:-0} + ${W[read]:-0} + ${W[write]:-0} + ${W[timeout]:-0}))
  tail -n +"$((err_start + 1))" "$RUN/nginx-error.log" | grep '\[error\]' >"$RUN/nginx-errors-$key.txt" || true
  PH[$key:nginx]=$(wc -l <"$RUN/nginx-errors-$key.txt")
  PH[$key:kinds]=$(sed -E 's/^.*\[error\] [0-9]+#[0-9]+: (\*[0-9]+ )?//; s/, client:.*//; s/ while .*//' "$RUN/nginx-errors-$key.txt" |
    sort | uniq -c | sort -rn | head -n 3 | awk '{ n = $1; $1 = ""; printf "%s%s (%d)", sep, substr($0, 2), n; sep = "; " }')
  PH[$key:reloads]=$(tail -n +"$((log_start + 1))" "${LOG_OF[$v]}" | grep -c 'reloaded' || true)
  PH[$key:hups]=$hups PH[$key:maxw]=$maxw PH[$key:settle]=$settle PH[$key:respawn]=$respawn PH[$key:victim]=$victim
  if [ -z "$line" ]; then
    NOTES+=("under load ($key): wrk produced no result: $(tr '\n' ' ' <"$out" | head -c 300)")
  fi
  if ! kill -0 "$master" 2>/dev/null; then
    tail_log "${LOG_OF[$v]}"
    NOTES+=("${NAME[$v]}: the master exited during the $key phase")
    DEAD[$v]=1
  fi
  return 0
}

if [ -n "$RELOAD_VARIANT" ] && [ "$RELOAD" = 1 ] && [ -z "${DEAD[$RELOAD_VARIANT]:-}" ]; then
  disrupt reload
  if [ -z "${DEAD[$RELOAD_VARIANT]:-}" ]; then disrupt kill; fi
fi

# ---------------------------------------------------------------------------------------------
# Memory while streaming: the workers' RSS, sampled every 100 ms, while MEM_BYTES stream in and
# then out, on a freshly started MEM_VARIANT; then the same through node:http, for reference.
# Stream throughput needs both cores (curl, nginx and the backend each copy every byte), so the
# sampler forks nothing and curl reads its body from the page cache and writes nothing to disk.

# max_rss_kib VARIANT FIELD: the largest over VARIANT's workers (its one process if not a pool).
max_rss_kib() {
  local pid m=0 v
  for pid in $(worker_pids "$1"); do
    v=$(rss_kib "$pid" "$2")
    ((v <= m)) || m=$v
  done
  echo "$m"
}

# list_samples VARIANT: the processes sample_rss reads (VARIANT's workers) into SAMPLE_PIDS.
list_samples() {
  read -ra SAMPLE_PIDS <<<"$(worker_pids "$1" | tr '\n' ' ')"
  SAMPLE_GONE=
}

# sample_rss: the largest VmRSS over SAMPLE_PIDS into REPLY (KiB), with bash builtins alone. A
# process gone (a worker replaced) sets SAMPLE_GONE, and the caller lists the workers again.
sample_rss() {
  local pid key value rest
  REPLY=0
  for pid in "${SAMPLE_PIDS[@]}"; do
    if ! { while read -r key value rest; do
      if [ "$key" = VmRSS: ]; then ((value <= REPLY)) || REPLY=$value; break; fi
    done <"/proc/$pid/status"; } 2>/dev/null; then SAMPLE_GONE=1; fi
  done
}

MEM_ROWS=()
mem_phase() { # variant label sink curl-args...
  local v=$1 label=$2 sink=$3 cpid max=0 n=0 hwm rc=0 tick b0 n0
  local -a backend nginx
  shift 3
  # CPU of the backend (a pool's master and workers) and of nginx's workers, over the phase.
  backend=("${PID_OF[$v]}")
  is_pool "$v" && read -ra backend <<<"${PID_OF[$v]} $(children_of "${PID_OF[$v]}" any | tr '\n' ' ')"
  read -ra nginx <<<"$(children_of "$NGINX_PID" any | tr '\n' ' ')"
  b0=$(ticks_sum "${backend[@]}") n0=$(ticks_sum "${nginx[@]}")
  MEM_BEFORE=$(max_rss_kib "$v" VmRSS)
  # Reset the peak (VmHWM) to the current RSS, so it covers this phase only.
  for pid in $(worker_pids "$v"); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
  list_samples "$v"
  # A FIFO nobody writes: `read -t` on it is a 100 ms wait without forking `sleep`.
  rm -f "$RUN/tick" && mkfifo "$RUN/tick" && exec {tick}<>"$RUN/tick"
  curl -sS --max-time 900 -o "$sink" -w '%{http_code} %{size_download} %{size_upload} %{time_total}' "$@" >"$RUN/mem-$label.status" 2>"$RUN/mem-$label.err" &
  cpid=$!
  CLIENT_PID=$cpid
  local samples=()
  while kill -0 "$cpid" 2>/dev/null && ((n < 9000)); do
    sample_rss
    samples+=("$REPLY")
    ((REPLY <= max)) || max=$REPLY
    [ -z "$SAMPLE_GONE" ] || list_samples "$v"
    read -rt 0.1 -u "$tick" || true
    n=$((n + 1))
  done
  exec {tick}<&-
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
  hwm=$(max_rss_kib "$v" VmHWM)
  MEM_CPU="$((($(ticks_sum "${backend[@]}") - b0) * 1000 / CLK_TCK)) $((($(ticks_sum "${nginx[@]}") - n0) * 1000 / CLK_TCK))"
  read -r code down up secs <"$RUN/mem-$label.status" || true
  MEM_CODE=${code:-000} MEM_DOWN=${down:-0} MEM_UP=${up:-0} MEM_SECS=${secs:-0} MEM_RC=$rc
  MEM_MAX=$max MEM_HWM=$hwm
}

# stream_phases VARIANT FRONT ROW-PREFIX: MEM_BYTES up through FRONT/upload (its answer must give
# the byte count and sha256) and down from FRONT/download, a row in MEM_ROWS for each.
stream_phases() {
  local v=$1 front=$2 prefix=$3 body result
  log "memory: uploading $MEM_BYTES bytes to /upload (${NAME[$v]})"
  mem_phase "$v" "$v-upload" "$RUN/mem-$v-upload.out" -X POST -T "$RUN/body.bin" -H 'Expect:' -H 'Content-Type: application/octet-stream' "$front/upload"
  body=$(head -c 2000 "$RUN/mem-$v-upload.out" 2>/dev/null || true)
  result=ok
  if [ "$MEM_CODE" != 200 ] || [[ "$body" != *"\"bytes\":$MEM_BYTES"* ]] || [[ "$body" != *"$EXPECT_SHA"* ]]; then
    result="FAILED: HTTP $MEM_CODE, curl exit $MEM_RC, sent $MEM_UP bytes, answer: ${body:0:300}"
    NOTES+=("upload (${NAME[$v]}): POST /upload with a $MEM_BYTES-byte body (Content-Length) → HTTP $MEM_CODE, curl exit $MEM_RC $(head -c 300 "$RUN/mem-$v-upload.err" 2>/dev/null), answer: ${body:0:300}")
  fi
  MEM_ROWS+=("$v|upload|${prefix}upload $MEM_HUMAN|$MEM_BEFORE|$MEM_TREND|$MEM_MAX|$MEM_HWM|$MEM_UP|$MEM_SECS|$MEM_CPU|$result")

  log "memory: downloading $MEM_BYTES bytes from /download (${NAME[$v]})"
  mem_phase "$v" "$v-download" /dev/null "$front/download?bytes=$MEM_BYTES"
  result=ok
  if [ "$MEM_CODE" != 200 ] || [ "$MEM_DOWN" != "$MEM_BYTES" ]; then
    result="FAILED: HTTP $MEM_CODE, curl exit $MEM_RC, received $MEM_DOWN bytes"
    NOTES+=("download (${NAME[$v]}): GET /download?bytes=$MEM_BYTES → HTTP $MEM_CODE, curl exit $MEM_RC, received $MEM_DOWN of $MEM_BYTES bytes $(head -c 300 "$RUN/mem-$v-download.err" 2>/dev/null)")
  fi
  MEM_ROWS+=("$v|download|${prefix}download $MEM_HUMAN|$MEM_BEFORE|$MEM_TREND|$MEM_MAX|$MEM_HWM|$MEM_DOWN|$MEM_SECS|$MEM_CPU|$result")
}

if [ -n "$MEM_VARIANT" ] && [ "$MEMORY" = 1 ]; then
  # A fresh start: the heap a 256-connection burst left behind is not what streaming costs.
  stop_tscgi "$MEM_VARIANT"
  start_tscgi "$MEM_VARIANT"
  wait_ok "${URL[$MEM_VARIANT]}" "${PID_OF[$MEM_VARIANT]}" || { tail_log "${LOG_OF[$MEM_VARIANT]}"; die "${NAME[$MEM_VARIANT]} did not restart for the memory runs"; }
  wait_workers "$MEM_VARIANT" || NOTES+=("${NAME[$MEM_VARIANT]}: not all workers were up 20 s after the restart for the memory runs")
  sleep 1
  MEM_IDLE=$(max_rss_kib "$MEM_VARIANT" VmRSS)
  # A sparse file: MEM_BYTES of zeros that take no disk and let curl send a Content-Length. Read
  # once before, so that the first upload does not pay for filling the page cache.
  truncate -s "$MEM_BYTES" "$RUN/body.bin"
  cat "$RUN/body.bin" >/dev/null
  if ((MEM_BYTES == 1073741824)); then
    EXPECT_SHA=49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14
  else
    EXPECT_SHA=$(sha256sum "$RUN/body.bin" | cut -d' ' -f1)
  fi
  stream_phases "$MEM_VARIANT" "http://127.0.0.1:${V_FRONT[$MEM_VARIANT]}" ""
  if ! kill -0 "${PID_OF[$MEM_VARIANT]}" 2>/dev/null; then
    tail_log "${LOG_OF[$MEM_VARIANT]}"
    NOTES+=("${NAME[$MEM_VARIANT]} exited during the memory benchmark")
  fi
  # The same streams through the same nginx to node:http: what the machine allows a backend.
  if has_target node-http && kill -0 "$NODE_PID" 2>/dev/null; then
    stream_phases node-http "http://127.0.0.1:$P_FRONT_NODE" "node:http: "
  fi
  rm -f "$RUN/body.bin" "$RUN/tick"
fi

# ---------------------------------------------------------------------------------------------
# Report.

ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
us() { if [ -n "$1" ]; then echo "$1 µs"; else echo "–"; fi; }
ratio() { # rps base -> "2.71×" or "–"
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f×", a / b; else printf "–" }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
pos() { awk -v a="$1" 'BEGIN { exit !(a + 0 > 0) }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.0f%%", (a - b) * 100 / b; else printf "–" }'; }
# kib_of "pid=KiB ..." PID: that pid's figure, empty when absent.
kib_of() {
  local kv
  for kv in $1; do [ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return 0; }; done
  return 0
}
# master_of / workers_of "pid=KiB ..." (the master first): the master's pid, the workers' pids.
master_of() { local kv; for kv in $1; do echo "${kv%%=*}"; return 0; done; return 0; }
workers_of() { local kv first=1; for kv in $1; do ((first)) && { first=0; continue; }; echo "${kv%%=*}"; done; return 0; }
# max_worker_kib VARIANT MOMENT: the largest worker's figure (the one process's with --workers 0);
# empty when there is none.
max_worker_kib() {
  local list=${MEM[$1:$2]:-} pid m='' k
  [ -n "$list" ] || return 0
  if ! is_pool "$1"; then kib_of "$list" "$(master_of "$list")"; return 0; fi
  for pid in $(workers_of "$list"); do
    k=$(kib_of "$list" "$pid")
    if [ -z "$m" ] || ((k > m)); then m=$k; fi
  done
  echo "$m"
}
cell() { # "pid=KiB ..." PID: that pid's figure in MiB, or – when absent
  local k
  k=$(kib_of "$1" "$2")
  if [ -n "$k" ]; then mib "$k"; else echo "–"; fi
}
cpu_cell() { # VARIANT PID: CPU seconds between the fresh and after readings, and % of one core
  local a b
  a=$(kib_of "${CPU[$1:fresh]:-}" "$2") b=$(kib_of "${CPU[$1:after]:-}" "$2")
  if [ -z "$a" ] || [ -z "$b" ]; then echo "–"; return 0; fi
  awk -v a="$a" -v b="$b" -v hz="$CLK_TCK" -v t="$LOADED_S" 'BEGIN { s = (b - a) / hz; printf "%.1f s (%.0f%% of a core)", s, (t > 0 ? s * 100 / t : 0) }'
}
all_workers_mib() { # VARIANT MOMENT: "68.1 / 67.9 MiB"
  local list=${MEM[$1:$2]:-} pid figs=()
  if ! is_pool "$1"; then mib "$(kib_of "$list" "$(master_of "$list")")"; return 0; fi
  for pid in $(workers_of "$list"); do figs+=("$(awk -v k="$(kib_of "$list" "$pid")" 'BEGIN { printf "%.1f", k / 1024 }')"); done
  if ((${#figs[@]})); then echo "$(IFS=/; echo "${figs[*]}" | sed 's#/# / #g') MiB"; else echo "no workers"; fi
}

SA_AVAILABLE=1
if ! grep -q -a UV_TCP_SINGLE_ACCEPT "$NODE_EXE" 2>/dev/null; then SA_AVAILABLE=0; fi
ANY_SA=0
for v in "${VARIANTS[@]}"; do ((V_SA[$v] == 0)) || ANY_SA=1; done

{
  echo "## tscgi benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')," \
    "node $(node -v) (libuv $(node -p process.versions.uv)), $("$NGINX" -v 2>&1 | sed 's/.*: //')$(has_target php-fpm && echo ", PHP $("$PHP_FPM" -v 2>/dev/null | awk 'NR == 1 { print $2 }')"), wrk -t1, ${DURATION}s per run after ${WARMUP}s warm-up$( ((ROUNDS > 1)) && echo ", median of $ROUNDS interleaved rounds (range in brackets)")."
  echo "Load average before / after the throughput runs: $LOAD_BEFORE / $LOAD_AFTER (other work on the machine skews the numbers; ratios from one run are only as steady as the machine)."
  setup=()
  for v in "${VARIANTS[@]}"; do
    setup+=("${NAME[$v]}: tscgi --workers ${V_WORKERS[$v]}$( ((V_SA[$v] == 0)) || echo " with UV_TCP_SINGLE_ACCEPT=1") over FastCGI (keepalive $UPSTREAM_KEEPALIVE)")
  done
  for t in "${PHP_TARGETS[@]}"; do
    if [ "${PHP_KA[$t]}" = on ]; then
      setup+=("${NAME[$t]}: pm static 2 children over FastCGI (keepalive $UPSTREAM_KEEPALIVE, fastcgi_keep_conn on)")
    else
      setup+=("${NAME[$t]}: pm static 2 children over FastCGI, a new connection per request")
    fi
  done
  has_target node-http && setup+=("node:http 1 process over HTTP/1.1 (keepalive $UPSTREAM_KEEPALIVE)")
  has_target uwsgi && setup+=("uWSGI (Python WSGI) master + 2 processes over the uwsgi protocol, a connection per request")
  has_target go-fcgi && setup+=("Go net/http/fcgi 1 process over FastCGI (keepalive $UPSTREAM_KEEPALIVE)")
  has_target nginx && setup+=("nginx return (the ceiling)")
  echo "Hello world behind one nginx with 1 worker: $(IFS=';'; echo "${setup[*]}" | sed 's/;/; /g')."
  echo
  base_name=PHP-FPM
  [ -z "$BASE_PHP" ] || base_name=${NAME[$BASE_PHP]}
  echo "| target | conns | req/s | p50 | p99 | errors | × $base_name | × node:http | p99 ÷ $base_name's | CPU a request: target | CPU a request: nginx |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in "${REPORT_TARGETS[@]}"; do
    for c in $CONNS; do
      [ -n "${RPS[$t:$c]:-}" ] || continue
      range=
      [ -n "${RANGE[$t:$c]:-}" ] && range=" ($(group "${RANGE[$t:$c]%–*}")–$(group "${RANGE[$t:$c]#*–}"))"
      echo "| ${NAME[$t]} | $c | $(group "${RPS[$t:$c]}")$range | $(ms "${P50[$t:$c]}") | $(ms "${P99[$t:$c]}") | ${ERRTXT[$t:$c]} |" \
        "$(ratio "${RPS[$t:$c]}" "${RPS[$BASE_PHP:$c]:-}") | $(ratio "${RPS[$t:$c]}" "${RPS[node-http:$c]:-}") | $(ratio "${P99[$t:$c]}" "${P99[$BASE_PHP:$c]:-}") |" \
        "$(us "${BCPU[$t:$c]:-}") | $(us "${NCPU[$t:$c]:-}") |"
    done
  done

  if ((${#VARIANTS[@]})); then
    echo
    echo "Targets for tscgi: ≥ ${GOAL_VS_PHP}× PHP-FPM and ≥ ${GOAL_VS_NODE}× node:http req/s with 0 errors; p99 at $GOAL_P99_CONNS connections ≤ $GOAL_P99_FRACTION × PHP-FPM's;" \
      "idle worker RSS ≤ $GOAL_IDLE_RSS_MIB MiB; worker RSS < $GOAL_RSS_MIB MiB while $MEM_HUMAN streams in or out."
    for v in "${VARIANTS[@]}"; do
      echo
      echo "${NAME[$v]}:"
      for c in $CONNS; do
        [ -n "${RPS[$v:$c]:-}" ] || continue
        line="- $c conns:"
        for p in "${PHP_TARGETS[@]}"; do
          [ -n "${RPS[$p:$c]:-}" ] || continue
          r=$(ratio "${RPS[$v:$c]}" "${RPS[$p:$c]}")
          if ! pos "${RPS[$p:$c]}"; then x="n/a (no answers)"; elif ge "${RPS[$v:$c]}" "$(awk -v b="${RPS[$p:$c]}" -v g="$GOAL_VS_PHP" 'BEGIN { print b * g }')"; then x=PASS; else x=MISS; fi
          line+=" $r ${NAME[$p]} $x;"
        done
        if [ -n "${RPS[node-http:$c]:-}" ]; then
          r=$(ratio "${RPS[$v:$c]}" "${RPS[node-http:$c]}")
          if ! pos "${RPS[node-http:$c]}"; then x="n/a (no answers)"; elif ge "${RPS[$v:$c]}" "$(awk -v b="${RPS[node-http:$c]}" -v g="$GOAL_VS_NODE" 'BEGIN { print b * g }')"; then x=PASS; else x=MISS; fi
          line+=" $r node:http $x;"
        fi
        if [ "${ERRS[$v:$c]}" = 0 ]; then x=PASS; else x=MISS; fi
        line+=" errors ${ERRTXT[$v:$c]} $x"
        if ((c == GOAL_P99_CONNS)); then
          for p in "${PHP_TARGETS[@]}"; do
            [ -n "${P99[$p:$c]:-}" ] || continue
            line+="; p99 $(ms "${P99[$v:$c]}") = $(ratio "${P99[$v:$c]}" "${P99[$p:$c]}") ${NAME[$p]}'s $(ms "${P99[$p:$c]}")"
            if [ -n "${STALLED[$p:$c]:-}" ]; then
              # Its p99 is that of the few connections it answered; the others had no answer at all.
              line+=" n/a (†: ${NAME[$p]} answered ${STALLED[$p:$c]} connections)"
            elif ge "$(awk -v b="${P99[$p:$c]}" -v g="$GOAL_P99_FRACTION" 'BEGIN { print b * g }')" "${P99[$v:$c]}"; then
              line+=" PASS"
            else
              line+=" MISS"
            fi
          done
        fi
        # One nginx worker takes at most one core: at the CPU it spent on each of tscgi's requests,
        # no backend behind it could be answered faster than this.
        if [ -n "${NCPU[$v:$c]:-}" ] && pos "${NCPU[$v:$c]}"; then
          cap=$(awk -v u="${NCPU[$v:$c]}" 'BEGIN { printf "%.0f", 1e6 / u }')
          line+="; nginx ${NCPU[$v:$c]} µs a request, so its one worker's ceiling ≈ $(group "$cap") req/s"
          [ -n "${RPS[$BASE_PHP:$c]:-}" ] && pos "${RPS[$BASE_PHP:$c]}" && line+=" = $(ratio "$cap" "${RPS[$BASE_PHP:$c]}") $base_name"
        fi
        echo "$line"
      done
      line="- idle worker RSS:"
      for moment in fresh after; do
        k=$(max_worker_kib "$v" "$moment")
        [ -n "$k" ] || continue
        if ((k <= GOAL_IDLE_RSS_MIB * 1024)); then x=PASS; else x=MISS; fi
        line+=" $( [ "$moment" = fresh ] && echo "fresh" || echo "after the load") $(all_workers_mib "$v" "$moment") $x;"
      done
      echo "${line%;}"
    done

    # Memory of each process.
    echo
    # Each variant was under load for its warm-ups and measured runs: CPU seconds over that time.
    LOADED_S=0
    for c in $CONNS; do LOADED_S=$((LOADED_S + WARMUP + ROUNDS * DURATION)); done
    echo "| tscgi process memory | fresh, idle (VmRSS) | after the load, idle ${IDLE} s (VmRSS) | peak during the load (VmHWM) | CPU during the load ($LOADED_S s under load) |"
    echo "|---|---:|---:|---:|---:|"
    for v in "${VARIANTS[@]}"; do
      fresh=${MEM[$v:fresh]:-} after=${MEM[$v:after]:-} peak=${MEM[$v:peak]:-}
      master=$(master_of "$fresh")
      if is_pool "$v"; then
        echo "| ${NAME[$v]}: master (pid $master) | $(cell "$fresh" "$master") | $(cell "$after" "$master") | $(cell "$peak" "$master") | $(cpu_cell "$v" "$master") |"
        pids=$( { workers_of "$fresh"; workers_of "$after"; } | awk '!seen[$1]++')
        j=0
        for pid in $pids; do
          j=$((j + 1))
          echo "| ${NAME[$v]}: worker $j (pid $pid) | $(cell "$fresh" "$pid") | $(cell "$after" "$pid") | $(cell "$peak" "$pid") | $(cpu_cell "$v" "$pid") |"
        done
      else
        echo "| ${NAME[$v]} (pid $master) | $(cell "$fresh" "$master") | $(cell "$after" "$master") | $(cell "$peak" "$master") | $(cpu_cell "$v" "$master") |"
      fi
    done
    [ -n "$NODE_IDLE_RSS" ] && echo "| for reference: node:http, fresh, idle | $(mib "$NODE_IDLE_RSS") | | | |"
    echo
    echo "Fresh: after start-up and the readiness requests, 1 s idle. The peak is VmHWM, reset after the fresh reading, so it covers the warm-ups and measured runs; a worker listed without a figure was not there at that moment (replaced)."

    # The whole pool's memory: PSS against the targets (120 MiB idle, 160 MiB under load), RSS and USS beside it.
    pool_cell() { # "pss rss uss" limit-KiB
      [ -n "$1" ] || { echo "| | |"; return 0; }
      set -- $1 "$2"
      local verdict=PASS
      (($1 <= $4)) || verdict=MISS
      echo "$(mib "$1") $verdict | $(mib "$2") | $(mib "$3")"
    }
    echo
    echo "| tscgi pool memory (master + workers + their children) | PSS fresh, idle | RSS | USS | PSS under load (largest halfway reading) | RSS | USS | PSS after the load, idle ${IDLE} s | RSS | USS |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for v in "${VARIANTS[@]}"; do
      echo "| ${NAME[$v]} | $(pool_cell "${POOL_MEM[$v:fresh]:-}" $((120 * 1024))) | $(pool_cell "${POOL_MEM[$v:load]:-}" $((160 * 1024))) | $(pool_cell "${POOL_MEM[$v:after]:-}" $((120 * 1024))) |"
    done
    [ -n "$NODE_IDLE_PSS" ] && echo "| for reference: node:http, fresh, idle | $(mib "${NODE_IDLE_PSS%% *}") | $(mib "$(cut -d' ' -f2 <<<"$NODE_IDLE_PSS")") | $(mib "${NODE_IDLE_PSS##* }") | | | | | | |"
    echo
    echo "PSS (/proc/PID/smaps_rollup) counts a page shared by n processes as 1/n in each, so the node binary and what the workers share count once; other Node processes on the machine share those pages too and lower every PSS a little. USS is the private pages alone. Targets: PSS ≤ 120 MiB idle, ≤ 160 MiB under load."

    echo
    echo "| every backend's memory, all its processes | PSS after the load, idle ${IDLE} s | RSS | sum of peak RSS (VmHWM) |"
    echo "|---|---:|---:|---:|"
    for t in "${MEM_BACKENDS[@]}"; do
      [ -n "${BACKEND_MEM[$t]:-}" ] || continue
      read -r p r h <<<"${BACKEND_MEM[$t]}"
      n=${NAME[$t]}
      [[ $t == php-fpm* ]] && n="PHP-FPM (all its pools)"
      echo "| $n | $(mib "$p") | $(mib "$r") | $(mib "$h") |"
    done

    # Balance of the pool, and connections waiting to be accepted.
    bal_rows=()
    for v in "${VARIANTS[@]}"; do
      for c in $CONNS; do
        [ -n "${BALANCE[$v:$c]:-}" ] && bal_rows+=("| ${NAME[$v]} | $c | ${BALANCE[$v:$c]%|*} | ${BALANCE[$v:$c]#*|} |")
      done
    done
    if ((${#bal_rows[@]})); then
      echo
      echo "| halfway through the run (median round) | conns | FastCGI connections held by each worker (the process) | in the accept queue, not yet accepted |"
      echo "|---|---:|---:|---:|"
      printf '%s\n' "${bal_rows[@]}"
    fi

    # UV_TCP_SINGLE_ACCEPT against none, per worker count.
    if ((ANY_SA)); then
      echo
      echo "UV_TCP_SINGLE_ACCEPT=1 (in the master's and so the workers' environment) against none:"
      if ((SA_AVAILABLE == 0)); then
        echo "this node's libuv ($(node -p process.versions.uv)) never reads UV_TCP_SINGLE_ACCEPT (the binary has no such string): since libuv 1.45 a listening socket accepts one connection per poll wake-up in any case (libuv pull request 3696), so the two differ by noise only."
      fi
      echo
      for w in $TSCGI_WORKERS_LIST; do
        a="tscgi-w$w" b="tscgi-w$w-sa"
        [ -n "${V_SA[$a]:-}" ] && [ -n "${V_SA[$b]:-}" ] || continue
        for c in $CONNS; do
          [ -n "${RPS[$a:$c]:-}" ] && [ -n "${RPS[$b:$c]:-}" ] || continue
          echo "- ${NAME[$a]#tscgi }, $c conns: req/s $(group "${RPS[$a:$c]}") → $(group "${RPS[$b:$c]}") ($(pct "${RPS[$b:$c]}" "${RPS[$a:$c]}")), p99 $(ms "${P99[$a:$c]}") → $(ms "${P99[$b:$c]}") ($(pct "${P99[$b:$c]}" "${P99[$a:$c]}"))"
        done
      done
    fi
  fi

  # The pool under disruption.
  if [ -n "${PH[reload:requests]:-}" ]; then
    v=$RELOAD_VARIANT
    echo
    echo "| ${NAME[$v]} under disruption: wrk $RELOAD_CONNS conns, ${RELOAD_DURATION}s, through nginx | requests | req/s | p99 | non-2xx/3xx | socket errors | nginx [error] lines | worker processes (max alive) | pool back to ${V_WORKERS[$v]} workers |"
    echo "|---|---:|---:|---:|---:|---|---:|---:|---|"
    for key in reload kill; do
      [ -n "${PH[$key:requests]:-}" ] || continue
      if [ "$key" = reload ]; then
        what="SIGHUP every ${RELOAD_EVERY}s (${PH[$key:hups]} sent, ${PH[$key:reloads]} logged by tscgi)"
      else
        what="kill -9 of one worker at $((RELOAD_DURATION / 3))s (pid ${PH[$key:victim]:-none}$( [ -n "${PH[$key:respawn]}" ] && echo ", replacement forked after ${PH[$key:respawn]} ms"))"
      fi
      settle=${PH[$key:settle]:-}
      if [ -n "$settle" ]; then settle="$(awk -v m="$settle" 'BEGIN { printf "%.1f s", m / 1000 }') after the load"; else settle="not within 30 s"; fi
      echo "| $what | $(group "${PH[$key:requests]}") | $(group "${PH[$key:rps]}") | $(ms "${PH[$key:p99]}") | ${PH[$key:non2xx]} | ${PH[$key:sock]} | ${PH[$key:nginx]} | ${PH[$key:maxw]} | $settle |"
    done
    for key in reload kill; do
      [ -n "${PH[$key:kinds]:-}" ] && echo "- nginx errors ($key): ${PH[$key:kinds]}"
    done
    echo
    echo "Failed requests are the non-2xx/3xx answers (nginx's 502s) and the socket errors; an nginx [error] line without a failed request is one nginx retried (a kept-alive upstream connection that closed under it)."
  fi

  if ((${#MEM_ROWS[@]})); then
    echo
    echo "Streaming memory: ${NAME[$MEM_VARIANT]}, restarted fresh for these phases; the RSS of the largest worker$(is_pool "$MEM_VARIANT" || echo " (the one process)"). Then node:http, the one process, through the same nginx (proxy_request_buffering off, proxy_max_temp_file_size 0), for reference: it shows what nginx, curl and the hashing leave a backend on this machine. curl reads the body from the page cache and writes the download to /dev/null. CPU is the time the backend's processes and nginx's workers used during the stream (curl's own is not counted); all three share the machine's $(nproc) cores."
    echo
    echo "| stream | RSS at start | max RSS (100 ms samples) | peak RSS (VmHWM) | 2nd half vs 1st | bytes | time | throughput | × node:http | CPU: backend, nginx | result |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    echo "| idle, after startup and one request | $(mib "$MEM_IDLE") | | | | | | | | | |"
    declare -A STREAM_MIBS=()
    for row in "${MEM_ROWS[@]}"; do
      IFS='|' read -r v kind label before trend max hwm bytes secs cpu result <<<"$row"
      STREAM_MIBS[$v:$kind]=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", b / 1048576 / s }')
    done
    for row in "${MEM_ROWS[@]}"; do
      IFS='|' read -r v kind label before trend max hwm bytes secs cpu result <<<"$row"
      # The memory target is tscgi's; the node:http rows are a reference.
      if [ "$result" = ok ] && [ "$v" != node-http ]; then
        if ((max < GOAL_RSS_MIB * 1024 && hwm < GOAL_RSS_MIB * 1024)); then result=PASS; else result="MISS (≥ $GOAL_RSS_MIB MiB)"; fi
      fi
      tput=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f MiB/s", b / 1048576 / s; else printf "–" }')
      vs=$(ratio "${STREAM_MIBS[$v:$kind]:-}" "${STREAM_MIBS[node-http:$kind]:-}")
      echo "| $label | $(mib "$before") | $(mib "$max") | $(mib "$hwm") | ${trend:-–} | $(group "$bytes") | $(awk -v s="$secs" 'BEGIN { printf "%.1f s", s }') | $tput | $vs | ${cpu% *} ms, ${cpu#* } ms | $result |"
    done
  fi
  if ((${#NOTES[@]})); then
    echo
    echo "Notes and problems:"
    for n in "${NOTES[@]}"; do echo "- $n"; done
  fi
} >"$RUN/results.md"

# append VAR LABEL SCRIPT: unless VAR is 0, runs bench/SCRIPT (its own processes, stopped by it)
# and appends its table to the report, or a line saying it failed.
append() {
  local var=$1 label=$2 script=$3 table="$RUN/${3%.sh}.md"
  [ "${!var:-1}" = 1 ] || return 0
  log "$label: bench/$script"
  if bash "$BENCH/$script" >"$table"; then
    { echo; cat "$table"; } >>"$RUN/results.md"
  else
    printf '\nbench/%s failed (exit %s); its log is above.\n' "$script" "$?" >>"$RUN/results.md"
  fi
}
# Forms, sessions and a 1 MiB POST beside PHP-FPM; a page rendered from templates and a database
# page beside PHP-FPM's (its own PostgreSQL); the first request to a new, an edited and a recycled
# worker's script; what each way of reading the request costs a worker, over FastCGI without nginx.
append BENCH_TOOLKIT "forms and sessions" toolkit.sh
append BENCH_TEMPLATES templates templates.sh
append BENCH_DATABASE "a database page" database.sh
append BENCH_FIRST_REQUEST "first requests" first-request.sh
append BENCH_SCRIPT_COSTS "script costs" script-costs.sh

cat "$RUN/results.md"
cp "$RUN/results.md" "$OUT" 2>/dev/null && log "results written to $OUT" || log "could not write $OUT"

exit 0
}
