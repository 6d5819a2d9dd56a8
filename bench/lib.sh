# Set-up shared by bench/run.sh and bench/faults.sh: tools, processes, free ports, nginx's
# common config. Sourced, never run; the caller sets BENCH_TAG (its log prefix) and keeps the pids
# it starts in PIDS.

BENCH_TAG=${BENCH_TAG:-bench}
log() { printf '%s: %s\n' "$BENCH_TAG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_TAG" "$*" >&2; exit 1; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
now_ms() { date +%s%3N; }
group() { # 1234567 -> 1,234,567
  echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'
}

# ---------------------------------------------------------------------------------------------
# Tools.

find_php_fpm() {
  local f
  for f in "${BENCH_PHP_FPM:-}" /usr/sbin/php-fpm8.2 $(compgen -c php-fpm 2>/dev/null | sort -u) /usr/sbin/php-fpm*; do
    [ -n "$f" ] || continue
    f=$(command -v "$f" 2>/dev/null) || continue
    [ -x "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

# install_missing PACKAGE...: apt-get install them (as root, or through sudo).
install_missing() {
  (($#)) || return 0
  log "installing $* with apt-get"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing $*; install them (apt-get install $*) or run as root"
    sudo=(sudo)
  fi
  { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"; } >&2 ||
    die "apt-get install $* failed"
}

# ---------------------------------------------------------------------------------------------
# Processes: tscgi's workers are the Node children of the master started here.

NODE_EXE=$(readlink -f "$(command -v node)")

# children_of PID [any]: its Node children (parent pid from /proc/*/stat), by pid; with "any",
# its children whatever they run (PHP-FPM's).
children_of() {
  local pid
  # cat, not awk on the files: a process may exit between the glob and the read.
  for pid in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{ s = $0; sub(/^.*\) /, "", s); split(s, a, " "); if (a[2] == p) print $1 }' | sort -n); do
    if [ "${2:-}" = any ] || [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$NODE_EXE" ]; then echo "$pid"; fi
  done
  return 0
}

# cpu_ticks PID: user + system CPU time so far, in clock ticks (0 when gone).
cpu_ticks() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || st=
  [ -n "$st" ] || { echo 0; return 0; }
  awk '{ s = $0; sub(/^.*\) /, "", s); split(s, a, " "); print a[12] + a[13] }' <<<"$st"
}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# ticks_sum PID...: their CPU time so far, in clock ticks.
ticks_sum() {
  local pid t=0
  for pid in "$@"; do t=$((t + $(cpu_ticks "$pid"))); done
  echo "$t"
}
# tree_ticks PID...: the CPU time so far, in clock ticks, of each PID and its children.
tree_ticks() {
  local pid all=()
  # shellcheck disable=SC2207
  for pid in "$@"; do all+=("$pid" $(children_of "$pid" any)); done
  ticks_sum "${all[@]}"
}
# per_request_us TICKS REQUESTS: CPU µs a request.
per_request_us() { awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n }'; }

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
drop_pid() {
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
# stop_workers PID...: workers that outlived their master (one that had to be killed), checked to
# still be tscgi workers before they are stopped.
stop_workers() {
  local p left=()
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null && tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q 'worker\.js'; then left+=("$p"); fi
  done
  if ((${#left[@]})); then stop_pids "${left[@]}"; fi
  return 0
}

# stop_tscgi_run: an EXIT trap for a script that started one tscgi (TSCGI_PID) among PIDS and
# works in RUN: stops them, the tscgi's workers last, and removes RUN.
stop_tscgi_run() {
  local kids=""
  [ -z "${TSCGI_PID:-}" ] || kids=$(children_of "$TSCGI_PID")
  if ((${#PIDS[@]})); then stop_pids "${PIDS[@]}"; fi
  # shellcheck disable=SC2086
  stop_workers $kids
  rm -rf "$RUN"
}

# free_ports N: N free loopback ports, space-separated: bound all at once, reported, released.
free_ports() {
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]);
    const servers = Array.from({ length: n }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok, fail) => { s.once("error", fail); s.listen(0, "127.0.0.1", ok); })))
      .then(() => { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); });
  ' "$1"
}

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
# nginx.

# write_fastcgi_params FILE: the stock parameters, as PHP's snippets and conf/nginx.conf send them.
write_fastcgi_params() {
  cat >"$1" <<'EOF'
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
}

# nginx_conf_head DIR: the start of an nginx.conf with everything under DIR: one worker, no access
# log, clients kept alive; it leaves the http block open for the caller's servers.
nginx_conf_head() {
  local user=
  [ "$(id -u)" -eq 0 ] && user="user root root;"
  cat <<EOF
worker_processes 1;
$user
pid $1/nginx.pid;
error_log $1/nginx-error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }

http {
  access_log off;
  server_tokens off;
  # As nginx.conf ships (nginx.org's and Debian's): a body nginx spooled to a file goes upstream by sendfile.
  sendfile on;
  default_type text/html;
  keepalive_requests 1000000;
  client_body_temp_path $1/nginx-tmp/body;
  proxy_temp_path $1/nginx-tmp/proxy;
  fastcgi_temp_path $1/nginx-tmp/fastcgi;
  uwsgi_temp_path $1/nginx-tmp/uwsgi;
  scgi_temp_path $1/nginx-tmp/scgi;
EOF
}

# php_fpm_global RUN: a bench PHP-FPM config's [global] section (foreground, pid and log in RUN).
php_fpm_global() {
  printf '[global]\npid = %s/php-fpm.pid\nerror_log = %s/php-fpm.log\ndaemonize = no\n' "$1" "$1"
}

# php_fpm_pool NAME PORT: a static pool of 2 children on 127.0.0.1:PORT (run as root when started
# as root, with php-fpm -R); the caller may print php_admin_value lines after it.
php_fpm_pool() {
  printf '\n[%s]\n' "$1"
  if [ "$(id -u)" -eq 0 ]; then printf 'user = root\ngroup = root\n'; fi
  printf 'listen = 127.0.0.1:%s\npm = static\npm.max_children = 2\npm.max_requests = 0\n' "$2"
}
