#!/usr/bin/env bash
# tscgi benchmark, the everyday toolkit: a urlencoded form POST (10 fields), a session read and
# write (file store, and Redis) and a POST of 1 MiB read whole, tscgi beside PHP-FPM doing the same
# ($_POST, session_start with files and with the phpredis handler, php://input; node:http too for
# the 1 MiB POST), behind one nginx. Run by bench/run.sh (npm run bench),
# or alone; prints a markdown table. See bench/README.md.
#
# Everything runs on 127.0.0.1, on free ports, in a temporary directory; every process started
# here is stopped here, by pid. Exits 0 whatever the numbers say; 1 only when a component cannot
# be installed or started.
set -euo pipefail
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_TAG=bench-toolkit
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_TOOLKIT_CONNS:-16}
SESSIONS=${BENCH_TOOLKIT_SESSIONS:-64}
GOAL_VS_PHP=2.0
GOAL_BODY_VS_PHP=1.5 # the 1 MiB POST row's target
BODY_BYTES=1048576
is_uint "$DURATION" && ((DURATION > 0)) || die "BENCH_DURATION must be a positive number of seconds, got '$DURATION'"
is_uint "$WARMUP" || die "BENCH_WARMUP must be a number of seconds, got '$WARMUP'"
is_uint "$CONNS" && ((CONNS > 0)) || die "BENCH_TOOLKIT_CONNS must be a positive number, got '$CONNS'"
is_uint "$SESSIONS" && ((SESSIONS > 0 && SESSIONS <= 1000)) || die "BENCH_TOOLKIT_SESSIONS must be 1 to 1000, got '$SESSIONS'"

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
find_php_fpm >/dev/null || missing+=(php8.2-fpm)
if ((${#missing[@]})); then install_missing "${missing[@]}"; fi
PHP_FPM=$(find_php_fpm) || die "php-fpm not found after install"
# phpredis for PHP's Redis session handler: Debian's package; without it the Redis row has no PHP.
PHP_VER=$("$PHP_FPM" -v | awk 'NR == 1 { split($2, v, "."); print v[1] "." v[2] }')
# The module list is read whole first: with pipefail, grep -q quitting early would fail the pipe.
has_php_redis() { local mods; mods=$("$PHP_FPM" -m 2>/dev/null) && grep -qx redis <<<"$mods"; }
if ! has_php_redis; then install_missing "php$PHP_VER-redis" || true; fi
PHP_REDIS=0
has_php_redis && PHP_REDIS=1
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench-toolkit.XXXXXX")
chmod 755 "$RUN"
PIDS=()
CLIENT_PID=
cleanup() {
  local rc=$? kids=() p k rev=() i
  set +e
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null
  for p in ${TSCGI_PIDS:-}; do for k in $(children_of "$p"); do kids+=("$k"); done; done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do rev+=("${PIDS[i]}"); done
  ((${#rev[@]})) && stop_pids "${rev[@]}"
  ((${#kids[@]})) && stop_workers "${kids[@]}"
  if [ "${BENCH_KEEP:-0}" = 1 ] || ((rc == 1)); then log "run directory kept: $RUN"; else rm -rf "$RUN"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2207
P=($(free_ports 16))
((${#P[@]} == 16)) || die "could not find free ports"
P_REDIS=${P[0]} P_TS_FILE=${P[1]} P_TS_REDIS=${P[2]} P_PHP_FILE=${P[3]} P_PHP_REDIS=${P[4]}
F_TS_FILE=${P[5]} F_TS_REDIS=${P[6]} F_PHP=${P[7]} P_PHP0=${P[8]} F_PHP0=${P[9]} P_NODE=${P[10]} F_NODE=${P[11]}
# The same fronts with the body kept in nginx's memory (the 1 MiB POST's second set of rows).
M_TS=${P[12]} M_PHP=${P[13]} M_PHP0=${P[14]} M_NODE=${P[15]}

log "starting redis-server on 127.0.0.1:$P_REDIS"
redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" >"$RUN/redis.log" 2>&1 &
PIDS+=("$!")
REDIS_PID=$!

TSCGI_PIDS=
start_tscgi() { # name port args...
  local name=$1 port=$2
  shift 2
  log "starting tscgi ($name): node bin/tscgi.js serve --listen 127.0.0.1:$port $*"
  (cd "$RUN" && exec node "$ROOT/bin/tscgi.js" serve --listen "127.0.0.1:$port" --root "$BENCH/cgi-bin" --workers 2 --access-log off "$@") >>"$RUN/tscgi-$name.log" 2>&1 &
  PIDS+=("$!")
  TSCGI_PIDS+=" $!"
}
start_tscgi file "$P_TS_FILE" --session-store file --session-save-path "$RUN/tscgi-sessions"
start_tscgi redis "$P_TS_REDIS" --session-store redis --session-redis-url "redis://127.0.0.1:$P_REDIS"

log "starting node:http: node bench/node-http.mjs $P_NODE"
node "$BENCH/node-http.mjs" "$P_NODE" >"$RUN/node-http.log" 2>&1 &
PIDS+=("$!")
NODE_PID=$!

mkdir -p "$RUN/php-sessions"
{
  php_fpm_global "$RUN"
  # nginx's default for PHP (a connection per request) gets a pool of its own, "shipped": the kept
  # connections of the "files" pool hold its children, and new connections would wait behind them.
  for pool in "files $P_PHP_FILE" "shipped $P_PHP0"; do
    php_fpm_pool $pool
    printf '%s\n' "php_admin_value[session.save_handler] = files" "php_admin_value[session.save_path] = $RUN/php-sessions" \
      "php_admin_value[session.gc_probability] = 0"
  done
  if ((PHP_REDIS)); then
    php_fpm_pool redis "$P_PHP_REDIS"
    printf '%s\n' "php_admin_value[session.save_handler] = redis" "php_admin_value[session.save_path] = \"tcp://127.0.0.1:$P_REDIS\"" \
      "php_admin_value[redis.session.locking_enabled] = 1"
  fi
} >"$RUN/php-fpm.conf"
PHP_FLAGS=(-F -y "$RUN/php-fpm.conf" -p "$RUN")
[ "$(id -u)" -eq 0 ] && PHP_FLAGS+=(-R)
log "starting php-fpm: $PHP_FPM ${PHP_FLAGS[*]}"
"$PHP_FPM" "${PHP_FLAGS[@]}" >"$RUN/php-fpm.out" 2>&1 &
PIDS+=("$!")
PHP_PID=$!

mkdir -p "$RUN/nginx-tmp"
write_fastcgi_params "$RUN/fastcgi_params"
# The nginx config's pieces: a server block's opening (a port, an optional directive), then its
# locations: tscgi's (every URL to the pool), PHP's (/PREFIX/*.php to bench/php), node:http's.
server_open() { # port [directive]
  printf '  server {\n    listen 127.0.0.1:%s;\n' "$1"
  [ -z "${2:-}" ] || printf '    %s\n' "$2"
}
tscgi_location() { # upstream
  printf '    location / {\n      include %s;\n      fastcgi_keep_conn on;\n      fastcgi_pass %s;\n    }\n' "$RUN/fastcgi_params" "$1"
}
php_location() { # prefix pass keep-conn
  local prefix=$1 pass=$2 keep=$3
  cat <<EOF
    location ~ ^/$prefix(/.+\.php)\$ {
      include $RUN/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $BENCH/php\$1;
      fastcgi_param SCRIPT_NAME \$1;
      fastcgi_keep_conn $keep;
      fastcgi_pass $pass;
    }
EOF
}
node_location() {
  printf '    location / {\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";\n      proxy_pass http://node_http;\n    }\n'
}
{
  nginx_conf_head "$RUN"
  # The 1 MiB POST is 1m exactly, nginx's default cap; the body is spooled by nginx as usual.
  echo "  client_max_body_size 2m;"
  for u in "ts_file $P_TS_FILE" "ts_redis $P_TS_REDIS" "php_file $P_PHP_FILE" "php_redis $P_PHP_REDIS" "node_http $P_NODE"; do
    set -- $u
    printf '  upstream %s { server 127.0.0.1:%s; keepalive 256; keepalive_requests 1000000; }\n' "$1" "$2"
  done
  server_open "$F_TS_FILE" && tscgi_location ts_file && echo "  }"
  server_open "$F_TS_REDIS" && tscgi_location ts_redis && echo "  }"
  # PHP: /files/*.php and /redis/*.php, the same scripts under the two session handlers.
  server_open "$F_PHP" "root $BENCH/php;" && php_location files php_file on && php_location redis php_redis on && echo "  }"
  server_open "$F_NODE" && node_location && echo "  }"
  server_open "$F_PHP0" && php_location files "127.0.0.1:$P_PHP0" off && echo "  }"
  # As above, but a body up to 2 MiB stays in nginx's memory instead of going through a temp file
  # (client_body_buffer_size, 8 KiB by default on x86-64): the 1 MiB POST without the spooling.
  server_open "$M_TS" "client_body_buffer_size 2m;" && tscgi_location ts_file && echo "  }"
  server_open "$M_PHP" "client_body_buffer_size 2m;" && php_location files php_file on && echo "  }"
  server_open "$M_PHP0" "client_body_buffer_size 2m;" && php_location files "127.0.0.1:$P_PHP0" off && echo "  }"
  server_open "$M_NODE" "client_body_buffer_size 2m;" && node_location && echo "  }"
  echo "}"
} >"$RUN/nginx.conf"
"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' 2>"$RUN/nginx-t.log" || { tail_log "$RUN/nginx-t.log"; die "nginx rejected $RUN/nginx.conf"; }
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' >"$RUN/nginx.out" 2>&1 &
PIDS+=("$!")
NGINX_PID=$!

# The targets: row, name, URL.
declare -A URL NAME PID_OF
ROWS=(form session-file session-redis body bodymem)
TARGETS=()
add() { TARGETS+=("$1"); NAME[$1]=$2 URL[$1]=$3 PID_OF[$1]=$4; }
set -- $TSCGI_PIDS
add ts-form "tscgi" "http://127.0.0.1:$F_TS_FILE/form" "$1"
add php-form "PHP-FPM" "http://127.0.0.1:$F_PHP/files/form.php" "$PHP_PID"
add php0-form "PHP-FPM as shipped" "http://127.0.0.1:$F_PHP0/files/form.php" "$PHP_PID"
add ts-session-file "tscgi" "http://127.0.0.1:$F_TS_FILE/session" "$1"
add php-session-file "PHP-FPM" "http://127.0.0.1:$F_PHP/files/session.php" "$PHP_PID"
add php0-session-file "PHP-FPM as shipped" "http://127.0.0.1:$F_PHP0/files/session.php" "$PHP_PID"
add ts-session-redis "tscgi" "http://127.0.0.1:$F_TS_REDIS/session" "$2"
((PHP_REDIS)) && add php-session-redis "PHP-FPM" "http://127.0.0.1:$F_PHP/redis/session.php" "$PHP_PID"
add ts-body "tscgi" "http://127.0.0.1:$F_TS_FILE/body" "$1"
add php-body "PHP-FPM" "http://127.0.0.1:$F_PHP/files/body.php" "$PHP_PID"
add php0-body "PHP-FPM as shipped" "http://127.0.0.1:$F_PHP0/files/body.php" "$PHP_PID"
add node-body "node:http" "http://127.0.0.1:$F_NODE/" "$NODE_PID"
add ts-bodymem "tscgi" "http://127.0.0.1:$M_TS/body" "$1"
add php-bodymem "PHP-FPM" "http://127.0.0.1:$M_PHP/files/body.php" "$PHP_PID"
add php0-bodymem "PHP-FPM as shipped" "http://127.0.0.1:$M_PHP0/files/body.php" "$PHP_PID"
add node-bodymem "node:http" "http://127.0.0.1:$M_NODE/" "$NODE_PID"

FIELDS="a=alpha&b=bravo&c=charlie&d=delta&e=echo&f=foxtrot&g=golf&h=hotel&i=india&j=juliett"
for t in "${TARGETS[@]}"; do
  wait_ok "${URL[$t]}" "${PID_OF[$t]}" "$t" || { tail_log "$RUN/tscgi-file.log"; tail_log "$RUN/php-fpm.log"; tail_log "$RUN/nginx-error.log"; die "${URL[$t]} did not answer 200"; }
done
# Correctness first: the form's 10 fields are seen, and a session counts.
for t in ts-form php-form php0-form; do
  got=$(curl -s --max-time 5 -d "$FIELDS" "${URL[$t]}")
  [ "$got" = "fields: 10" ] || die "${URL[$t]} answered '$got' to a 10-field form"
done
head -c "$BODY_BYTES" /dev/urandom >"$RUN/body.bin"
for t in ts-body php-body php0-body node-body ts-bodymem php-bodymem php0-bodymem node-bodymem; do
  got=$(curl -s --max-time 10 -H 'Expect:' -H 'Content-Type: application/octet-stream' --data-binary "@$RUN/body.bin" "${URL[$t]}")
  [ "$got" = "bytes: $BODY_BYTES" ] || die "${URL[$t]} answered '$got' to a POST of $BODY_BYTES bytes"
done
# Sessions the server made (tscgi accepts no other id): one per slot; wrk's requests use them in turn.
for t in "${TARGETS[@]}"; do
  [[ $t == *session* ]] || continue
  : >"$RUN/cookies-$t"
  for ((i = 0; i < SESSIONS; i++)); do
    c=$(curl -s -D - -o /dev/null --max-time 5 "${URL[$t]}" | awk 'tolower($1) == "set-cookie:" { sub(/\r$/, ""); split($2, a, ";"); print a[1]; exit }')
    [ -n "$c" ] || die "${URL[$t]} set no session cookie"
    echo "$c" >>"$RUN/cookies-$t"
  done
  c=$(head -n 1 "$RUN/cookies-$t")
  got=$(curl -s --max-time 5 -H "Cookie: $c" "${URL[$t]}")
  [ "$got" = "n: 2" ] || die "${URL[$t]} answered '$got' on a session's second request"
done

cat >"$RUN/form.lua" <<EOF
wrk.method = "POST"
wrk.body = "$FIELDS"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
EOF
cat >"$RUN/body.lua" <<EOF
wrk.method = "POST"
wrk.body = string.rep("x", $BODY_BYTES)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF
cat >"$RUN/session.lua" <<'EOF'
local cookies, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
end
function request()
  i = i + 1
  return wrk.format(nil, nil, { Cookie = cookies[(i % #cookies) + 1] })
end
EOF

declare -A RPS P99 ERR PEAK BCPU NCPU
# The processes that serve a target: tscgi's master and its children, PHP-FPM's master and
# children (every pool), node:http's one process.
procs_of() {
  local pid=${PID_OF[$1]}
  echo "$pid"
  children_of "$pid" any
}
# Peak RSS of a target's processes during its run, summed: VmHWM reset before it (clear_refs 5).
peak_reset() { local p; for p in $(procs_of "$1"); do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done; }
peak_kib() { local p; for p in $(procs_of "$1"); do awk '$1 == "VmHWM:" { print $2 }' "/proc/$p/status" 2>/dev/null || true; done | awk '{ s += $1 } END { print s + 0 }'; }
run() { # target
  local t=$1 script out="$RUN/wrk-$1.txt" line
  local args=()
  case $t in *form) args=(-s "$RUN/form.lua") ;; *body | *bodymem) args=(-s "$RUN/body.lua") ;; *) args=(-s "$RUN/session.lua") ;; esac
  # The reporter is appended: wrk runs one script, so the two are joined.
  cat "${args[1]}" "$BENCH/wrk-report.lua" >"$RUN/run-$t.lua"
  if ((WARMUP > 0)); then
    wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$RUN/run-$t.lua" "${URL[$t]}" -- "$RUN/cookies-$t" >/dev/null 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || true
  fi
  log "measuring ${NAME[$t]} ${t#*-} at $CONNS connections (${DURATION}s)"
  peak_reset "$t"
  local -a backend ngx
  read -ra backend <<<"$(procs_of "$t" | tr '\n' ' ')"
  read -ra ngx <<<"$(children_of "$NGINX_PID" any | tr '\n' ' ')"
  local b0 n0
  b0=$(ticks_sum "${backend[@]}") n0=$(ticks_sum "${ngx[@]}")
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$RUN/run-$t.lua" "${URL[$t]}" -- "$RUN/cookies-$t" >"$out" 2>&1 &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || true
  CLIENT_PID=
  local b1 n1
  b1=$(ticks_sum "${backend[@]}") n1=$(ticks_sum "${ngx[@]}")
  PEAK[$t]=$(peak_kib "$t")
  line=$(grep '^WRK ' "$out" || true)
  [ -n "$line" ] || { cat "$out" >&2; return 0; }
  local -A W=()
  for kv in ${line#WRK }; do W[${kv%%=*}]=${kv#*=}; done
  RPS[$t]=$(awk -v n="${W[requests]}" -v d="${W[duration_us]}" 'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
  P99[$t]=${W[p99_us]}
  ERR[$t]=$((W[status] + W[connect] + W[read] + W[write] + W[timeout]))
  BCPU[$t]=$(per_request_us $((b1 - b0)) "${W[requests]}") NCPU[$t]=$(per_request_us $((n1 - n0)) "${W[requests]}")
}
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for t in "${TARGETS[@]}"; do run "$t"; done
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
{
  echo "## The everyday toolkit: forms and sessions"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, node $(node -v), PHP $("$PHP_FPM" -v | awk 'NR == 1 { print $2 }')$( ((PHP_REDIS)) && echo " with phpredis"), redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), wrk -t1 -c$CONNS, ${DURATION}s after ${WARMUP}s warm-up; load average $LOAD_BEFORE / $LOAD_AFTER."
  echo "tscgi --workers 2 and PHP-FPM pm static 2 children behind one nginx, tscgi over kept FastCGI connections, PHP-FPM both ways for the form and the file sessions (below). Form: a urlencoded POST of 10 fields (\`cgi.form()\` / \`\$_POST\`). Session: read a counter, add one, save (\`cgi.session()\` / \`session_start()\`), over $SESSIONS sessions in turn; both lock a session while a request uses it."
  echo
  echo "| row | PHP-FPM behind nginx | tscgi req/s | tscgi p99 | PHP-FPM req/s | PHP-FPM p99 | × PHP-FPM | target |"
  echo "|---|---|---:|---:|---:|---:|---:|---|"
  for pair in form:php form:php0 session-file:php session-file:php0 session-redis:php body:php body:php0 bodymem:php bodymem:php0; do
    row=${pair%%:*} ts=ts-${pair%%:*} php=${pair#*:}-${pair%%:*}
    how="kept connection (keepalive 256)"
    [ "${pair#*:}" = php0 ] && how="as shipped: a connection per request"
    label=$row
    case $row in form) label="form POST, 10 fields" ;; session-file) label="session read+write, files" ;; session-redis) label="session read+write, Redis" ;; body) label="POST 1 MiB, read whole" ;; bodymem) label="POST 1 MiB, read whole, body in nginx's memory" ;; esac
    goal=$GOAL_VS_PHP
    [[ $row == body* ]] && goal=$GOAL_BODY_VS_PHP
    tr=${RPS[$ts]:-} pr=${RPS[$php]:-}
    x="–" verdict="≥ ${goal}×: n/a"
    if [ -n "$tr" ] && [ -n "$pr" ] && ((pr > 0)); then
      x=$(awk -v a="$tr" -v b="$pr" 'BEGIN { printf "%.2f×", a / b }')
      if awk -v a="$tr" -v b="$pr" -v g="$goal" 'BEGIN { exit !(a >= b * g) }'; then verdict="≥ ${goal}×: PASS"; else verdict="≥ ${goal}×: MISS"; fi
    fi
    errs=""
    for t in "$ts" "$php"; do [ -n "${ERR[$t]:-}" ] && ((ERR[$t] > 0)) && errs+=" (${NAME[$t]}: ${ERR[$t]} errors)"; done
    echo "| $label | $how | $(group "${tr:-–}") | $( [ -n "${P99[$ts]:-}" ] && ms "${P99[$ts]}" || echo –) | $(group "${pr:-–}") | $( [ -n "${P99[$php]:-}" ] && ms "${P99[$php]}" || echo –) | $x | $verdict$errs |"
  done
  echo
  for row in body bodymem; do
    nr=${RPS[node-$row]:-}
    [ -n "$nr" ] && ((nr > 0)) || continue
    how="spooled by nginx"
    [ "$row" = bodymem ] && how="in nginx's memory"
    echo "POST 1 MiB ($how) against plain Node: node:http (one process, kept connections, the chunks joined) $(group "$nr") req/s, p99 $(ms "${P99[node-$row]}"); tscgi $(awk -v a="${RPS[ts-$row]:-0}" -v b="$nr" 'BEGIN { printf "%.2f×", a / b }') node:http."
    echo
  done
  # nginx has one worker, which takes at most one core: at the CPU it spent on each request, no
  # backend behind it could be answered faster than 1 s / that CPU.
  echo "CPU a 1 MiB POST cost (user + system, from /proc over each run), the target's processes / nginx's worker:"
  for row in body bodymem; do
    how="spooled by nginx"
    [ "$row" = bodymem ] && how="in nginx's memory"
    line="- $how:"
    for t in ts-$row php0-$row php-$row node-$row; do
      [ -n "${NCPU[$t]:-}" ] || continue
      line+=" ${NAME[$t]} ${BCPU[$t]} / ${NCPU[$t]} µs;"
    done
    if [ -n "${NCPU[ts-$row]:-}" ] && awk -v u="${NCPU[ts-$row]}" 'BEGIN { exit !(u > 0) }'; then
      cap=$(awk -v u="${NCPU[ts-$row]}" 'BEGIN { printf "%.0f", 1e6 / u }')
      line+=" at tscgi's, nginx's one worker tops out near $(group "$cap") req/s"
      pr=${RPS[php0-$row]:-}
      [ -n "$pr" ] && ((pr > 0)) && line+=", $(awk -v a="$cap" -v b="$pr" 'BEGIN { printf "%.2f×", a / b }') PHP-FPM as shipped"
    fi
    echo "${line%;}."
  done
  echo
  echo "Peak RSS during the 1 MiB POST run (VmHWM of every process of the target, reset before its run, summed): tscgi (master + 2 workers) $(awk -v k="${PEAK[ts-body]:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }'), PHP-FPM kept (master + every pool's children) $(awk -v k="${PEAK[php-body]:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }'), PHP-FPM as shipped (the same processes) $(awk -v k="${PEAK[php0-body]:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }'), node:http $(awk -v k="${PEAK[node-body]:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }'). In the first 1 MiB rows nginx spools each body to a temp file before passing it on, as it does with any body larger than client_body_buffer_size (8 KiB by default on x86-64), for every target alike; that file's write and read are most of nginx's CPU per request (above). The rows \"body in nginx's memory\" set client_body_buffer_size 2m, as an upload-heavy site would (see docs/web-servers.md)."
  echo
  echo "tscgi keeps its connections in every row. PHP-FPM \"as shipped\" is nginx's default for it (no upstream keepalive: a connection per request), the baseline the hello table's targets use; the kept-connection rows give PHP-FPM what tscgi has, but then each child holds the connection nginx keeps to it, so PHP-FPM answers 2 of the $CONNS connections at a time and the others wait unanswered (mean latency × req/s ≈ 2 requests in hand): its p99 there counts only the answered requests."
  if ((PHP_REDIS == 0)); then
    echo
    echo "PHP's Redis row is missing: php$PHP_VER-redis could not be installed."
  fi
} >"$RUN/results.md"
cat "$RUN/results.md"
exit 0
}
