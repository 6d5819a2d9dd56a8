#!/usr/bin/env bash
# tscgi benchmark, templates: a page of 20 rows rendered from a page template that extends a layout
# (cgi.render, Nunjucks with autoescape) beside PHP-FPM doing the same with a plain PHP template (a
# layout file included, htmlspecialchars), behind one nginx. Run by bench/run.sh (npm run bench),
# or alone; prints a markdown table. See bench/README.md.
#
# Everything runs on 127.0.0.1, on free ports, in a temporary directory; every process started
# here is stopped here, by pid. Exits 0 whatever the numbers say; 1 only when a component cannot
# be installed or started.
set -euo pipefail
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_TAG=bench-templates
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_TEMPLATES_CONNS:-16}
GOAL_VS_PHP=2.0
is_uint "$DURATION" && ((DURATION > 0)) || die "BENCH_DURATION must be a positive number of seconds, got '$DURATION'"
is_uint "$WARMUP" || die "BENCH_WARMUP must be a number of seconds, got '$WARMUP'"
is_uint "$CONNS" && ((CONNS > 0)) || die "BENCH_TEMPLATES_CONNS must be a positive number, got '$CONNS'"

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
find_php_fpm >/dev/null || missing+=(php8.2-fpm)
if ((${#missing[@]})); then install_missing "${missing[@]}"; fi
PHP_FPM=$(find_php_fpm) || die "php-fpm not found after install"
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench-templates.XXXXXX")
chmod 755 "$RUN"
PIDS=()
CLIENT_PID=
TSCGI_PID=
cleanup() {
  local rc=$? kids=() k rev=() i
  set +e
  trap - EXIT INT TERM
  [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2>/dev/null
  if [ -n "$TSCGI_PID" ]; then for k in $(children_of "$TSCGI_PID"); do kids+=("$k"); done; fi
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
P=($(free_ports 6))
((${#P[@]} == 6)) || die "could not find free ports"
P_TS=${P[0]} P_PHP=${P[1]} F_TS=${P[2]} F_PHP=${P[3]} F_PHP0=${P[4]} P_PHP0=${P[5]}

# The templates are bench/templates, beside the script root (the templates key's default).
log "starting tscgi: node bin/tscgi.js serve --listen 127.0.0.1:$P_TS --root $BENCH/cgi-bin --workers 2"
(cd "$RUN" && exec node "$ROOT/bin/tscgi.js" serve --listen "127.0.0.1:$P_TS" --root "$BENCH/cgi-bin" --workers 2 --access-log off) >>"$RUN/tscgi.log" 2>&1 &
PIDS+=("$!")
TSCGI_PID=$!

{
  php_fpm_global "$RUN"
  php_fpm_pool www "$P_PHP"
  # A pool of its own for nginx's default (a connection per request): the kept connections of the
  # pool above hold its children, and new connections would wait behind them.
  php_fpm_pool shipped "$P_PHP0"
} >"$RUN/php-fpm.conf"
PHP_FLAGS=(-F -y "$RUN/php-fpm.conf" -p "$RUN")
[ "$(id -u)" -eq 0 ] && PHP_FLAGS+=(-R)
log "starting php-fpm: $PHP_FPM ${PHP_FLAGS[*]}"
"$PHP_FPM" "${PHP_FLAGS[@]}" >"$RUN/php-fpm.out" 2>&1 &
PIDS+=("$!")
PHP_PID=$!

mkdir -p "$RUN/nginx-tmp"
write_fastcgi_params "$RUN/fastcgi_params"
{
  nginx_conf_head "$RUN"
  printf '  upstream tscgi { server 127.0.0.1:%s; keepalive 256; keepalive_requests 1000000; }\n' "$P_TS"
  printf '  upstream php { server 127.0.0.1:%s; keepalive 256; keepalive_requests 1000000; }\n' "$P_PHP"
  cat <<EOF
  server {
    listen 127.0.0.1:$F_TS;
    location / {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_pass tscgi;
    }
  }
  server {
    listen 127.0.0.1:$F_PHP;
    location ~ ^/(render|hello)\.php\$ {
      include $RUN/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $BENCH/php/\$1.php;
      fastcgi_param SCRIPT_NAME /\$1.php;
      fastcgi_keep_conn on;
      fastcgi_pass php;
    }
  }
  server {
    listen 127.0.0.1:$F_PHP0;
    location ~ ^/(render|hello)\.php\$ {
      include $RUN/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $BENCH/php/\$1.php;
      fastcgi_param SCRIPT_NAME /\$1.php;
      fastcgi_pass 127.0.0.1:$P_PHP0;
    }
  }
}
EOF
} >"$RUN/nginx.conf"
"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' 2>"$RUN/nginx-t.log" || { tail_log "$RUN/nginx-t.log"; die "nginx rejected $RUN/nginx.conf"; }
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' >"$RUN/nginx.out" 2>&1 &
PIDS+=("$!")

# The targets: the template page, and hello world for reference (what the same stack costs without it).
# PHP-FPM twice: with a kept connection as tscgi has, and as PHP ships (nginx opens a connection per
# request: fastcgi_keep_conn off, no upstream keepalive), the baseline of the hello table.
declare -A URL NAME PID_OF
ROWS=(render hello)
TARGETS=(ts-render php-render php0-render ts-hello php-hello php0-hello)
for row in "${ROWS[@]}"; do
  URL[ts-$row]="http://127.0.0.1:$F_TS/$row" NAME[ts-$row]=tscgi PID_OF[ts-$row]=$TSCGI_PID
  URL[php-$row]="http://127.0.0.1:$F_PHP/$row.php" NAME[php-$row]=PHP-FPM PID_OF[php-$row]=$PHP_PID
  URL[php0-$row]="http://127.0.0.1:$F_PHP0/$row.php" NAME[php0-$row]="PHP-FPM as shipped" PID_OF[php0-$row]=$PHP_PID
done
for t in "${TARGETS[@]}"; do
  wait_ok "${URL[$t]}" "${PID_OF[$t]}" "$t" || { tail_log "$RUN/tscgi.log"; tail_log "$RUN/php-fpm.log"; tail_log "$RUN/nginx-error.log"; die "${URL[$t]} did not answer 200"; }
done

# Correctness first: both pages hold the 20 rows, escaped, and the same text.
for t in ts-render php-render php0-render; do
  curl -s --max-time 5 "${URL[$t]}" >"$RUN/page-$t.html"
  rows=$(grep -c '^<tr><td>' "$RUN/page-$t.html" || true)
  [ "$rows" = 20 ] || die "${URL[$t]} answered $rows rows, not 20"
  grep -q 'User 3 &lt;3@example.com&gt;' "$RUN/page-$t.html" || die "${URL[$t]} did not escape a row's name"
  grep -q 'Zürich &amp; Bern' "$RUN/page-$t.html" || die "${URL[$t]} did not escape a row's city"
done
# Blank lines aside (the two template languages leave them in different places), the pages are equal.
diff <(grep -v '^\s*$' "$RUN/page-ts-render.html") <(grep -v '^\s*$' "$RUN/page-php-render.html") >"$RUN/page.diff" ||
  die "the two pages differ: $(head -c 400 "$RUN/page.diff")"

declare -A RPS P99 ERR CPU_US
run() { # target
  local t=$1 out="$RUN/wrk-$1.txt" line
  if ((WARMUP > 0)); then
    wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s "${URL[$t]}" >/dev/null 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || true
  fi
  log "measuring ${NAME[$t]} ${t#*-} at $CONNS connections (${DURATION}s)"
  local ticks_before
  ticks_before=$(tree_ticks "${PID_OF[$t]}")
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH/wrk-report.lua" "${URL[$t]}" >"$out" 2>&1 &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || true
  CLIENT_PID=
  local ticks=$(($(tree_ticks "${PID_OF[$t]}") - ticks_before))
  line=$(grep '^WRK ' "$out" || true)
  [ -n "$line" ] || { cat "$out" >&2; return 0; }
  local -A W=()
  for kv in ${line#WRK }; do W[${kv%%=*}]=${kv#*=}; done
  RPS[$t]=$(awk -v n="${W[requests]}" -v d="${W[duration_us]}" 'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
  P99[$t]=${W[p99_us]}
  ERR[$t]=$((W[status] + W[connect] + W[read] + W[write] + W[timeout]))
  # CPU the server's processes spent per request: what a busy machine changes least.
  CPU_US[$t]=$(awk -v k="$ticks" -v hz="$CLK_TCK" -v n="${W[requests]}" 'BEGIN { printf "%.0f", (n > 0 ? k * 1e6 / hz / n : 0) }')
}
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for t in "${TARGETS[@]}"; do run "$t"; done
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
{
  echo "## Templates: a page of 20 rows"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, node $(node -v), PHP $("$PHP_FPM" -v | awk 'NR == 1 { print $2 }'), wrk -t1 -c$CONNS, ${DURATION}s after ${WARMUP}s warm-up; load average $LOAD_BEFORE / $LOAD_AFTER."
  echo "tscgi --workers 2 and PHP-FPM pm static 2 children behind one nginx, tscgi over kept FastCGI connections, PHP-FPM both ways (below). tscgi: \`cgi.render(\"page.njk\", { title, rows })\`, a Nunjucks page template extending a layout, autoescape on (\`bench/cgi-bin/render.ts\`, \`bench/templates/\`); PHP: a page template included into a layout file, every value through \`htmlspecialchars\` (\`bench/php/render.php\`). Both build the 20 rows per request; the pages are checked equal before measuring."
  echo
  echo "| row | PHP-FPM behind nginx | tscgi req/s | tscgi p99 | tscgi CPU/req | PHP-FPM req/s | PHP-FPM p99 | PHP-FPM CPU/req | × PHP-FPM | target ≥ ${GOAL_VS_PHP}× |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for pair in render:php render:php0 hello:php hello:php0; do
    row=${pair%%:*} ts=ts-${pair%%:*} php=${pair#*:}-${pair%%:*}
    label="render a page from a template with 20 rows" target=1
    [ "$row" = hello ] && label="hello world, for reference" target=0
    how="kept connection (keepalive 256)"
    [ "${pair#*:}" = php0 ] && how="as shipped: a connection per request"
    tr=${RPS[$ts]:-} pr=${RPS[$php]:-}
    x="–" verdict="n/a"
    if [ -n "$tr" ] && [ -n "$pr" ] && ((pr > 0)); then
      x=$(awk -v a="$tr" -v b="$pr" 'BEGIN { printf "%.2f×", a / b }')
      if ((target == 0)); then verdict="–"
      elif awk -v a="$tr" -v b="$pr" -v g="$GOAL_VS_PHP" 'BEGIN { exit !(a >= b * g) }'; then verdict=PASS; else verdict=MISS; fi
    fi
    errs=""
    for t in "$ts" "$php"; do [ -n "${ERR[$t]:-}" ] && ((ERR[$t] > 0)) && errs+=" (${NAME[$t]}: ${ERR[$t]} errors)"; done
    cpu() { [ -n "${CPU_US[$1]:-}" ] && echo "${CPU_US[$1]} µs" || echo –; }
    echo "| $label | $how | $(group "${tr:-–}") | $( [ -n "${P99[$ts]:-}" ] && ms "${P99[$ts]}" || echo –) | $(cpu "$ts") | $(group "${pr:-–}") | $( [ -n "${P99[$php]:-}" ] && ms "${P99[$php]}" || echo –) | $(cpu "$php") | $x | $verdict$errs |"
  done
  echo
  echo "tscgi keeps its connections in every row. PHP-FPM \"as shipped\" is nginx's default for it (no upstream keepalive: a connection per request), the baseline the hello table's targets use; the kept-connection rows give PHP-FPM what tscgi has, but then each child holds the connection nginx keeps to it, so PHP-FPM answers 2 of the $CONNS connections at a time and the others wait unanswered (mean latency × req/s ≈ 2 requests in hand): its p99 there counts only the answered requests."
  echo "CPU/req: user + system CPU of the server's processes (tscgi's master and workers; php-fpm's master and children) during the measured run, per request answered."
} >"$RUN/results.md"
cat "$RUN/results.md"
exit 0
}
