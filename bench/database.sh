#!/usr/bin/env bash
# tscgi benchmark, a database page: read 20 rows from PostgreSQL and render them as an HTML table,
# tscgi (a pg Pool kept at module scope; the `html` template, and a Nunjucks one by cgi.render)
# beside PHP-FPM (a persistent PDO pgsql connection, a plain PHP template), behind one nginx, on
# one PostgreSQL of its own. Run by
# bench/run.sh (npm run bench), or alone; prints a markdown table. See bench/README.md.
#
# Everything runs on 127.0.0.1, on free ports, in a temporary directory; every process started
# here is stopped here, by pid. Exits 0 whatever the numbers say; 1 only when a component cannot
# be installed or started.
set -euo pipefail
{

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_TAG=bench-database
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_DATABASE_CONNS:-16}
ROUNDS=${BENCH_DATABASE_ROUNDS:-3}
GOAL_VS_PHP=2.0
ROWS_IN_TABLE=1000
is_uint "$DURATION" && ((DURATION > 0)) || die "BENCH_DURATION must be a positive number of seconds, got '$DURATION'"
is_uint "$WARMUP" || die "BENCH_WARMUP must be a number of seconds, got '$WARMUP'"
is_uint "$CONNS" && ((CONNS > 0)) || die "BENCH_DATABASE_CONNS must be a positive number, got '$CONNS'"
is_uint "$ROUNDS" && ((ROUNDS > 0 && ROUNDS <= 20)) || die "BENCH_DATABASE_ROUNDS must be 1 to 20, got '$ROUNDS'"

# PostgreSQL's server binaries: Debian's newest version.
find_pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
find_pg_bin >/dev/null || missing+=(postgresql)
find_php_fpm >/dev/null || missing+=(php8.2-fpm)
if ((${#missing[@]})); then install_missing "${missing[@]}"; fi
PG_BIN=$(find_pg_bin) || die "PostgreSQL not found after install"
PHP_FPM=$(find_php_fpm) || die "php-fpm not found after install"
PHP_VER=$("$PHP_FPM" -v | awk 'NR == 1 { split($2, v, "."); print v[1] "." v[2] }')
# PDO's PostgreSQL driver is Debian's php-pgsql; without it there is no PHP row to compare with.
# (The module list is read whole first: with pipefail, grep -q quitting early would fail the pipe.)
has_pdo_pgsql() { local mods; mods=$("$PHP_FPM" -m 2>/dev/null) && grep -qx pdo_pgsql <<<"$mods"; }
has_pdo_pgsql || install_missing "php$PHP_VER-pgsql" || true
PHP_PG=0
has_pdo_pgsql && PHP_PG=1
((PHP_PG)) || log "php$PHP_VER-pgsql could not be installed: measuring tscgi alone"
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[ -f "$ROOT/bin/tscgi.js" ] || die "bin/tscgi.js not found (build with: npm run build)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tscgi-bench-database.XXXXXX")
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
P=($(free_ports 5))
((${#P[@]} == 5)) || die "could not find free ports"
P_PG=${P[0]} P_TSCGI=${P[1]} P_PHP=${P[2]} F_TSCGI=${P[3]} F_PHP=${P[4]}

# PostgreSQL refuses to run as root: as root it runs as the postgres user (else nobody), through
# setpriv, which execs it, so the pid kept is the server's own.
AS=()
if [ "$(id -u)" -eq 0 ]; then
  pg_user=postgres
  id postgres >/dev/null 2>&1 || pg_user=nobody
  AS=(setpriv --reuid="$pg_user" --regid="$(id -g "$pg_user")" --init-groups --)
  mkdir -p "$RUN/pg"
  chown "$pg_user" "$RUN/pg"
fi
log "initdb and postgres on 127.0.0.1:$P_PG"
"${AS[@]}" "$PG_BIN/initdb" -D "$RUN/pg/data" -U bench --auth=trust -E UTF8 --no-locale --no-sync >"$RUN/initdb.log" 2>&1 ||
  { tail_log "$RUN/initdb.log"; die "initdb failed"; }
# max_connections above what both sides may open (4 per tscgi worker, 1 per PHP child, psql).
"${AS[@]}" "$PG_BIN/postgres" -D "$RUN/pg/data" -p "$P_PG" -h 127.0.0.1 -k "$RUN/pg" -c max_connections=50 -c fsync=off \
  -c synchronous_commit=off -c full_page_writes=off >"$RUN/postgres.log" 2>&1 &
PIDS+=("$!")
PG_PID=$!
# Ready once it logs so (30 s at most, failing if it exits), confirmed by pg_isready.
for ((i = 0; i < 300; i++)); do
  grep -q 'ready to accept connections' "$RUN/postgres.log" && break
  kill -0 "$PG_PID" 2>/dev/null || break
  sleep 0.1
done
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$P_PG" || { tail_log "$RUN/postgres.log"; die "postgres did not become ready"; }
export PGHOST=127.0.0.1 PGPORT=$P_PG PGUSER=bench PGDATABASE=postgres
# The table the page reads: ROWS_IN_TABLE rows of four columns, text with characters to escape.
node --input-type=module -e '
  import pg from "pg";
  const client = new pg.Client();
  await client.connect();
  await client.query("CREATE TABLE bench_rows (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, note text NOT NULL)");
  await client.query(
    "INSERT INTO bench_rows SELECT i, $$user $$ || i, $$user$$ || i || $$@example.com$$, $$note <b>$$ || i || $$</b> & \"more\"$$ FROM generate_series(1, $1::int) i",
    [Number(process.argv[1])],
  );
  await client.query("ANALYZE bench_rows");
  await client.end();
' "$ROWS_IN_TABLE" 2>"$RUN/seed.log" || { tail_log "$RUN/seed.log"; die "could not create the bench_rows table"; }

TSCGI_PIDS=
log "starting tscgi: node bin/tscgi.js serve --listen 127.0.0.1:$P_TSCGI --root bench/cgi-bin --workers 2"
(cd "$RUN" && exec node "$ROOT/bin/tscgi.js" serve --listen "127.0.0.1:$P_TSCGI" --root "$BENCH/cgi-bin" --workers 2 --access-log off \
  --env PGHOST,PGPORT,PGUSER,PGDATABASE) >>"$RUN/tscgi.log" 2>&1 &
PIDS+=("$!")
TSCGI_PIDS+=" $!"
TSCGI_PID=$!

PHP_PID=
if ((PHP_PG)); then
  PHP_USER=
  [ "$(id -u)" -eq 0 ] && PHP_USER=$'user = root\ngroup = root'
  cat >"$RUN/php-fpm.conf" <<EOF
[global]
pid = $RUN/php-fpm.pid
error_log = $RUN/php-fpm.log
daemonize = no

[database]
$PHP_USER
listen = 127.0.0.1:$P_PHP
pm = static
pm.max_children = 2
pm.max_requests = 0
env[BENCH_PG_DSN] = "pgsql:host=127.0.0.1;port=$P_PG;dbname=postgres;user=bench"
EOF
  PHP_FLAGS=(-F -y "$RUN/php-fpm.conf" -p "$RUN")
  [ "$(id -u)" -eq 0 ] && PHP_FLAGS+=(-R)
  log "starting php-fpm: $PHP_FPM ${PHP_FLAGS[*]}"
  "$PHP_FPM" "${PHP_FLAGS[@]}" >"$RUN/php-fpm.out" 2>&1 &
  PIDS+=("$!")
  PHP_PID=$!
fi

mkdir -p "$RUN/nginx-tmp"
write_fastcgi_params "$RUN/fastcgi_params"
{
  nginx_conf_head "$RUN"
  printf '  upstream tscgi { server 127.0.0.1:%s; keepalive 256; keepalive_requests 1000000; }\n' "$P_TSCGI"
  printf '  upstream php { server 127.0.0.1:%s; keepalive 256; keepalive_requests 1000000; }\n' "$P_PHP"
  cat <<EOF
  server {
    listen 127.0.0.1:$F_TSCGI;
    location / {
      include $RUN/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_pass tscgi;
    }
  }
  server {
    listen 127.0.0.1:$F_PHP;
    root $BENCH/php;
    location ~ \.php\$ {
      include $RUN/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_keep_conn on;
      fastcgi_pass php;
    }
  }
}
EOF
} >"$RUN/nginx.conf"
"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' 2>"$RUN/nginx-t.log" || { tail_log "$RUN/nginx-t.log"; die "nginx rejected $RUN/nginx.conf"; }
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g 'daemon off;' >"$RUN/nginx.out" 2>&1 &
PIDS+=("$!")

declare -A URL NAME PID_OF
TARGETS=(ts ts-njk)
URL[ts]="http://127.0.0.1:$F_TSCGI/pg-rows" NAME[ts]=tscgi PID_OF[ts]=$TSCGI_PID
URL[ts-njk]="http://127.0.0.1:$F_TSCGI/pg-rows-njk" NAME[ts-njk]="tscgi (Nunjucks)" PID_OF[ts-njk]=$TSCGI_PID
if ((PHP_PG)); then
  TARGETS+=(php)
  URL[php]="http://127.0.0.1:$F_PHP/pg-rows.php" NAME[php]=PHP-FPM PID_OF[php]=$PHP_PID
fi
# Correctness first: each answers 200 with the same 20 rows, escaped.
for t in "${TARGETS[@]}"; do
  wait_ok "${URL[$t]}" "${PID_OF[$t]}" "$t" || { tail_log "$RUN/tscgi.log"; tail_log "$RUN/php-fpm.log"; tail_log "$RUN/nginx-error.log"; die "${URL[$t]} did not answer 200"; }
  page=$(curl -s --max-time 5 "${URL[$t]}")
  rows=$(grep -c '<tr><td>' <<<"$page" || true)
  ((rows == 20)) || die "${URL[$t]} rendered $rows rows, not 20"
  grep -q '<td>note &lt;b&gt;20&lt;/b&gt; &amp; &quot;more&quot;</td>' <<<"$page" || die "${URL[$t]} did not escape the notes"
done

declare -A RPS P99 ERR
run() { # target
  local t=$1 out="$RUN/wrk-$1.txt" line app0 pg0
  if ((WARMUP > 0)); then
    wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s "${URL[$t]}" >/dev/null 2>&1 &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || true
  fi
  log "measuring ${NAME[$t]} at $CONNS connections (${DURATION}s)"
  app0=$(tree_ticks "${PID_OF[$t]}") pg0=$(tree_ticks "$PG_PID")
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH/wrk-report.lua" "${URL[$t]}" >"$out" 2>&1 &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || true
  CLIENT_PID=
  line=$(grep '^WRK ' "$out" || true)
  [ -n "$line" ] || { cat "$out" >&2; return 0; }
  local -A W=()
  for kv in ${line#WRK }; do W[${kv%%=*}]=${kv#*=}; done
  RPS[$t]=$(awk -v n="${W[requests]}" -v d="${W[duration_us]}" 'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
  P99[$t]=${W[p99_us]}
  ERR[$t]=$((W[status] + W[connect] + W[read] + W[write] + W[timeout]))
  # CPU per request, the server's and PostgreSQL's apart: unlike req/s, it hardly depends on what
  # else the machine runs.
  APP_MS[$t]=$(awk -v d="$(($(tree_ticks "${PID_OF[$t]}") - app0))" -v hz="$CLK_TCK" -v n="${W[requests]}" 'BEGIN { printf "%.3f", (n > 0 ? d * 1000 / hz / n : 0) }')
  PG_MS[$t]=$(awk -v d="$(($(tree_ticks "$PG_PID") - pg0))" -v hz="$CLK_TCK" -v n="${W[requests]}" 'BEGIN { printf "%.3f", (n > 0 ? d * 1000 / hz / n : 0) }')
}
# Back to back, ROUNDS times in turn (tscgi, tscgi Nunjucks, PHP, and again) on a shared
# machine: each target's median run is reported, with the range of the per-round ratios, and the
# load average before and after shows how busy the machine was.
declare -A RUNS BEST_RPS BEST_P99 BEST_ERR APP_MS PG_MS BEST_APP BEST_PG
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
  for t in "${TARGETS[@]}"; do
    run "$t"
    [ -n "${RPS[$t]:-}" ] && RUNS[$t]+="${RPS[$t]}:${P99[$t]}:${ERR[$t]}:$round:${APP_MS[$t]}:${PG_MS[$t]} "
    unset "RPS[$t]"
  done
done
for t in "${TARGETS[@]}"; do
  # The median by req/s (the lower middle one for an even count).
  # shellcheck disable=SC2086
  median=$(printf '%s\n' ${RUNS[$t]:-} | sort -t: -k1,1n | awk '{ a[NR] = $0 } END { if (NR) print a[int((NR + 1) / 2)] }')
  [ -n "$median" ] || continue
  IFS=: read -r BEST_RPS[$t] BEST_P99[$t] BEST_ERR[$t] _ BEST_APP[$t] BEST_PG[$t] <<<"$median"
done
# ratio_range TS: the lowest and highest tscgi/PHP ratio over rounds where both were measured.
ratio_range() {
  local r ts=$1
  # shellcheck disable=SC2086
  for r in ${RUNS[$ts]:-}; do echo "$r"; done | awk -F: -v php="${RUNS[php]:-}" '
    BEGIN { n = split(php, p, " "); for (i = 1; i <= n; i++) { split(p[i], f, ":"); base[f[4]] = f[1] } }
    ($4 in base) && base[$4] > 0 { x = $1 / base[$4]; if (lo == "" || x < lo) lo = x; if (hi == "" || x > hi) hi = x }
    END { if (lo != "") printf "%.2f–%.2f×", lo, hi }'
}
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
{
  echo "## A database page: 20 rows from PostgreSQL, rendered"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, node $(node -v), PHP $("$PHP_FPM" -v | awk 'NR == 1 { print $2 }'), PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }'), wrk -t1 -c$CONNS, ${DURATION}s after ${WARMUP}s warm-up, the median of $ROUNDS rounds in turn; load average $LOAD_BEFORE / $LOAD_AFTER."
  echo "tscgi --workers 2 (\`bench/cgi-bin/pg-rows.ts\`: a \`pg.Pool\` of at most 4 connections per worker at module scope, a named statement, the \`html\` template; \`pg-rows-njk.ts\`: the same rows by \`cgi.render()\` of \`bench/templates/pg-rows.njk\`) and PHP-FPM pm static 2 children (\`bench/php/pg-rows.php\`: PDO pgsql with \`ATTR_PERSISTENT\`, prepare and execute, a plain PHP template with \`htmlspecialchars\`), both over FastCGI with keepalive behind one nginx, on one PostgreSQL: \`SELECT id, name, email, note FROM bench_rows ORDER BY id LIMIT 20\` of $ROWS_IN_TABLE rows."
  echo
  echo "| row | tscgi req/s | tscgi p99 | PHP-FPM req/s | PHP-FPM p99 | × PHP-FPM | × by round | target ≥ ${GOAL_VS_PHP}× |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  pr=${BEST_RPS[php]:-}
  for ts in ts ts-njk; do
    tr=${BEST_RPS[$ts]:-}
    x="–" verdict="n/a"
    if [ -n "$tr" ] && [ -n "$pr" ] && ((pr > 0)); then
      x=$(awk -v a="$tr" -v b="$pr" 'BEGIN { printf "%.2f×", a / b }')
      if awk -v a="$tr" -v b="$pr" -v g="$GOAL_VS_PHP" 'BEGIN { exit !(a >= b * g) }'; then verdict=PASS; else verdict=MISS; fi
    fi
    errs=""
    for t in "$ts" php; do [ -n "${BEST_ERR[$t]:-}" ] && ((BEST_ERR[$t] > 0)) && errs+=" (${NAME[$t]}: ${BEST_ERR[$t]} errors)"; done
    label="read 20 rows from PostgreSQL and render them"
    [ "$ts" = ts ] && label+=", \`html\`" || label+=", Nunjucks (\`cgi.render\`)"
    echo "| $label | $(group "${tr:-–}") | $( [ -n "${BEST_P99[$ts]:-}" ] && ms "${BEST_P99[$ts]}" || echo –) | $(group "${pr:-–}") | $( [ -n "${BEST_P99[php]:-}" ] && ms "${BEST_P99[php]}" || echo –) | $x | $(ratio_range "$ts") | $verdict$errs |"
  done
  echo
  echo "CPU time per request in the median runs (utime + stime of the server's processes, and of PostgreSQL's, over the run, divided by its requests): what a request costs whatever else the machine runs. × PHP-FPM is PHP-FPM's total over this one's."
  echo
  echo "| target | server CPU/request | PostgreSQL CPU/request | total | × PHP-FPM |"
  echo "|---|---:|---:|---:|---:|"
  for t in "${TARGETS[@]}"; do
    [ -n "${BEST_APP[$t]:-}" ] || continue
    echo "| ${NAME[$t]} | ${BEST_APP[$t]} ms | ${BEST_PG[$t]} ms | $(awk -v a="${BEST_APP[$t]}" -v b="${BEST_PG[$t]}" 'BEGIN { printf "%.3f ms", a + b }') | $(awk -v a="${BEST_APP[$t]}" -v b="${BEST_PG[$t]}" -v pa="${BEST_APP[php]:-}" -v pb="${BEST_PG[php]:-}" 'BEGIN { if (pa != "" && a + b > 0) printf "%.2f×", (pa + pb) / (a + b); else printf "–" }') |"
  done
  if ((PHP_PG == 0)); then
    echo
    echo "PHP's side is missing: php$PHP_VER-pgsql could not be installed."
  fi
} >"$RUN/results.md"
cat "$RUN/results.md"
exit 0
}
