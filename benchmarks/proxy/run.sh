#!/usr/bin/env bash
# Side-by-side reverse-proxy benchmark: Fairload standalone, nginx, HAProxy and Jetty 12's own ProxyServlet in front of
# the same three local nginx backends, plus the backends alone ("direct"), all on 127.0.0.1.
#
# Usage: benchmarks/proxy/run.sh [--quick] [--tls] [--rounds N] [--duration S] [--warmup S] [--latency S] [--soak S]
#                                [--targets LIST] [--no-build] [--no-install]
#
#   plain mode (default)  wrk -t1 at 64 and 256 connections, each target in turn, interleaved over --rounds rounds
#                         (default 4) of --duration seconds (default 30); then added latency at a fixed 1,000
#                         requests/s (FixedRateLoad, --latency seconds per target and round, default 30); then a soak of
#                         Fairload (--soak seconds, default 600) with its heap after a full GC every minute.
#   --tls                 each proxy terminates TLS with one self-signed EC P-256 certificate: keep-alive throughput at
#                         64 and 256 connections, then full handshakes per second (every request on a new connection).
#   --quick               a short smoke test of the whole pipeline (1 round of 5 s, 10 s warm-up, 10 s soak); its
#                         numbers mean nothing.
#   --targets LIST        comma-separated subset of: direct,fairload,nginx,haproxy,jetty,jettyfl,jettycore (default:
#                         all but jettyfl and jettycore. jettyfl is Jetty's ProxyServlet forwarding to the server a
#                         Fairload balancer picks: what Fairload's balancing costs over Jetty's non-blocking client;
#                         jettycore forwards the same way from a Jetty core handler, without the servlet layer)
#
# CPU: wrk (and FixedRateLoad) run on CPU 0, the proxy under test and the backends on CPU 1 (taskset); the JVM targets
# are warmed with --warmup seconds of load (default 60) before anything is measured. Proxy CPU is the utime+stime of
# the proxy's processes (/proc/PID/stat) over each run, divided by the requests wrk completed.
# Results: benchmarks/proxy/results/<UTC time>.md (quick-<UTC time>.md for --quick), also printed.
# Environment: JVM_OPTS (both JVM proxies, default -Xms512m -Xmx512m), FAIRLOAD_JVM_OPTS (Fairload only, e.g. a JFR
# recording), PROXY_JAR (another build of lb-proxy.jar), LOAD_CPU and PROXY_CPU (default 0 and 1).
# Needs: nginx, haproxy, wrk, openssl, curl, python3 (installed with apt-get if missing), Java 17, Maven.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)

quick=0
tls=0
rounds=4
duration=30
warmup=60
latency_seconds=30
soak=600
targets="direct,fairload,nginx,haproxy,jetty"
build=1
install=1
load_cpu=${LOAD_CPU:-0}
proxy_cpu=${PROXY_CPU:-1}
jvm_opts=${JVM_OPTS:--Xms512m -Xmx512m}
fairload_jvm_opts=${FAIRLOAD_JVM_OPTS:-}
explicit=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --tls) tls=1 ;;
    --rounds) rounds=$2; explicit+=(rounds); shift ;;
    --duration) duration=$2; explicit+=(duration); shift ;;
    --warmup) warmup=$2; explicit+=(warmup); shift ;;
    --latency) latency_seconds=$2; explicit+=(latency); shift ;;
    --soak) soak=$2; explicit+=(soak); shift ;;
    --targets) targets=$2; shift ;;
    --no-build) build=0 ;;
    --no-install) install=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ $quick = 1 ]; then
  [[ " ${explicit[*]:-} " == *" rounds "* ]] || rounds=1
  [[ " ${explicit[*]:-} " == *" duration "* ]] || duration=5
  [[ " ${explicit[*]:-} " == *" warmup "* ]] || warmup=10
  [[ " ${explicit[*]:-} " == *" latency "* ]] || latency_seconds=5
  [[ " ${explicit[*]:-} " == *" soak "* ]] || soak=10
fi
for n in "$rounds" "$duration" "$warmup" "$latency_seconds" "$soak"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "run.sh: '$n' is not a whole number" >&2; exit 2; }
done
IFS=, read -r -a target_list <<< "$targets"
for t in "${target_list[@]}"; do
  case "$t" in direct|fairload|nginx|haproxy|jetty|jettyfl|jettycore) ;; *) echo "run.sh: unknown target: $t" >&2; exit 2 ;; esac
done
if [ $tls = 1 ]; then
  # Direct is plain HTTP to the backends: not a TLS peer.
  tls_targets=()
  for t in "${target_list[@]}"; do [ "$t" != direct ] && tls_targets+=("$t"); done
  target_list=("${tls_targets[@]}")
fi
has_target() { [[ " ${target_list[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------------------------------
# Tools and jars

if [ $install = 1 ]; then
  missing=()
  for tool in nginx:nginx haproxy:haproxy wrk:wrk openssl:openssl curl:curl python3:python3; do
    command -v "${tool%%:*}" > /dev/null 2>&1 || missing+=("${tool#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]} with apt-get"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx haproxy wrk openssl curl python3
  fi
fi
for tool in nginx haproxy wrk openssl curl python3 java taskset; do
  command -v "$tool" > /dev/null 2>&1 || { echo "run.sh: $tool is missing" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "run.sh: needs 2 CPUs (wrk on one, the proxy and backends on the other); this machine has $(nproc)" >&2
  exit 1
fi

proxy_jar=${PROXY_JAR:-$root/lb-servlet-proxy/target/lb-proxy.jar}
bench_jar=$root/benchmarks/target/benchmarks.jar
if [ $build = 1 ]; then
  echo "Building lb-proxy.jar and benchmarks.jar"
  mvn -B -q -pl lb-servlet-proxy,benchmarks -am package -DskipTests
fi
[ -f "$proxy_jar" ] && [ -f "$bench_jar" ] || { echo "run.sh: $proxy_jar or $bench_jar missing (drop --no-build)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------------------------
# Work directory, processes we start, cleanup

work=$(mktemp -d /tmp/fairload-proxy-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2> /dev/null || true
  done
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2> /dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports, all on 127.0.0.1.
backend_ports=(9101 9102 9103)
declare -A port=([direct]=9101 [fairload]=9201 [nginx]=9211 [haproxy]=9221 [jetty]=9231 [jettyfl]=9241 [jettycore]=9251)
declare -A tls_port=([fairload]=9443 [nginx]=9444 [haproxy]=9446 [jetty]=9445 [jettyfl]=9447 [jettycore]=9448)
declare -A pid_of=()
declare -A label=([direct]="direct (no proxy)" [fairload]="Fairload" [nginx]="nginx" [haproxy]="HAProxy"
                  [jetty]="Jetty ProxyServlet" [jettyfl]="Jetty ProxyServlet + Fairload picks"
                  [jettycore]="Jetty core handler + Fairload picks")

wait_http() { # url seconds
  local deadline=$((SECONDS + $2))
  until curl -ksf -o /dev/null --max-time 2 "$1"; do
    if [ $SECONDS -ge $deadline ]; then echo "run.sh: $1 did not answer within $2 s" >&2; return 1; fi
    sleep 0.2
  done
}

# utime+stime in clock ticks of a process and its descendants (nginx's workers are children of its master).
cpu_ticks() {
  local total=0 pid child stat rest
  local queue=("$@")
  while [ ${#queue[@]} -gt 0 ]; do
    pid=${queue[0]}
    queue=("${queue[@]:1}")
    if stat=$(cat "/proc/$pid/stat" 2> /dev/null); then
      rest=${stat##*) }
      read -r -a f <<< "$rest"
      total=$((total + f[11] + f[12]))
    fi
    for child in $(pgrep -P "$pid" 2> /dev/null || true); do queue+=("$child"); done
  done
  echo "$total"
}
ticks_per_second=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------------------------------
# Certificate (TLS mode)

if [ $tls = 1 ]; then
  mkdir -p "$work/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" 2> /dev/null
  openssl pkcs12 -export -in "$work/tls/cert.pem" -inkey "$work/tls/key.pem" -name proxy \
    -out "$work/tls/keystore.p12" -passout pass:benchmark
  cat "$work/tls/cert.pem" "$work/tls/key.pem" > "$work/tls/haproxy.pem"
  chmod 644 "$work/tls/"*
fi

# ---------------------------------------------------------------------------------------------------------------------
# Backends: one nginx, one worker, three ports, each answering a short text.

mkdir -p "$work/backends"
{
  echo "worker_processes 1; pid $work/backends/nginx.pid; error_log $work/backends/error.log warn;"
  echo "events { worker_connections 8192; }"
  echo "http { access_log off; keepalive_requests 1000000; keepalive_timeout 120s; default_type text/plain;"
  i=1
  for p in "${backend_ports[@]}"; do
    echo "  server { listen 127.0.0.1:$p backlog=4096; location / { return 200 \"backend-$i\n\"; } }"
    i=$((i + 1))
  done
  echo "}"
} > "$work/backends/nginx.conf"
taskset -c "$proxy_cpu" nginx -p "$work/backends/" -e "$work/backends/error.log" -c "$work/backends/nginx.conf" \
  -g 'daemon off;' &
pids+=($!)
backends_pid=$!
for p in "${backend_ports[@]}"; do wait_http "http://127.0.0.1:$p/" 10; done
backend_urls=()
for p in "${backend_ports[@]}"; do backend_urls+=("http://127.0.0.1:$p"); done

# ---------------------------------------------------------------------------------------------------------------------
# Proxies

fairload_tls_supported=0
if java -jar "$proxy_jar" --help 2> /dev/null | grep -q -- '--tls-port'; then fairload_tls_supported=1; fi
skipped_note=""

start_fairload() {
  local args=(--host 127.0.0.1 --port "${port[fairload]}" --admin-port 9202 --algorithm round_robin)
  for u in "${backend_urls[@]}"; do args+=(--backend "$u"); done
  if [ $tls = 1 ]; then
    # The TLS listener's interface: sslTermination, sslCertPath, sslKeyPath (PEM) and sslPort in the YAML file.
    {
      echo "sslTermination: true"
      echo "sslCertPath: $work/tls/cert.pem"
      echo "sslKeyPath: $work/tls/key.pem"
      echo "sslPort: ${tls_port[fairload]}"
    } > "$work/fairload.yaml"
    args+=(--config "$work/fairload.yaml")
  fi
  # shellcheck disable=SC2086
  taskset -c "$proxy_cpu" java $jvm_opts $fairload_jvm_opts -jar "$proxy_jar" "${args[@]}" \
    > "$work/fairload.log" 2>&1 &
  pids+=($!)
  pid_of[fairload]=$!
}

start_nginx() {
  mkdir -p "$work/nginx"
  {
    echo "worker_processes 1; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log warn;"
    echo "events { worker_connections 8192; }"
    echo "http {"
    echo "  access_log off; keepalive_requests 1000000; keepalive_timeout 120s;"
    echo "  upstream backends {"
    for u in "${backend_urls[@]}"; do echo "    server ${u#http://};"; done
    echo "    keepalive 256; keepalive_requests 1000000;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:${port[nginx]} backlog=4096;"
    if [ $tls = 1 ]; then
      echo "    listen 127.0.0.1:${tls_port[nginx]} ssl backlog=4096;"
      echo "    ssl_certificate $work/tls/cert.pem; ssl_certificate_key $work/tls/key.pem;"
    fi
    echo "    location / {"
    echo "      proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection \"\";"
    echo "      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "    }"
    echo "  }"
    echo "}"
  } > "$work/nginx/nginx.conf"
  taskset -c "$proxy_cpu" nginx -p "$work/nginx/" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" \
    -g 'daemon off;' &
  pids+=($!)
  pid_of[nginx]=$!
}

start_haproxy() {
  mkdir -p "$work/haproxy"
  {
    echo "global"
    echo "  nbthread 1"
    echo "  maxconn 4096"
    echo "defaults"
    echo "  mode http"
    echo "  option http-keep-alive"
    echo "  timeout connect 5s"
    echo "  timeout client 120s"
    echo "  timeout server 120s"
    echo "frontend proxy"
    echo "  bind 127.0.0.1:${port[haproxy]}"
    if [ $tls = 1 ]; then echo "  bind 127.0.0.1:${tls_port[haproxy]} ssl crt $work/tls/haproxy.pem"; fi
    echo "  option forwardfor"
    echo "  default_backend backends"
    echo "backend backends"
    echo "  balance roundrobin"
    i=1
    for u in "${backend_urls[@]}"; do echo "  server backend-$i ${u#http://}"; i=$((i + 1)); done
  } > "$work/haproxy/haproxy.cfg"
  taskset -c "$proxy_cpu" haproxy -db -f "$work/haproxy/haproxy.cfg" > "$work/haproxy/haproxy.log" 2>&1 &
  pids+=($!)
  pid_of[haproxy]=$!
}

start_jetty() { # target [--balanced]
  local t=$1; shift
  local args=(--port "${port[$t]}" "$@")
  if [ $tls = 1 ]; then
    args+=(--tls-port "${tls_port[$t]}" --keystore "$work/tls/keystore.p12" --keystore-password benchmark)
  fi
  for u in "${backend_urls[@]}"; do args+=(--backend "$u"); done
  # shellcheck disable=SC2086
  taskset -c "$proxy_cpu" java $jvm_opts -cp "$bench_jar" dev.fairload.lb.benchmarks.proxy.JettyProxyLauncher \
    "${args[@]}" > "$work/$t.log" 2>&1 &
  pids+=($!)
  pid_of[$t]=$!
}

url_of() { # target
  if [ $tls = 1 ]; then echo "https://127.0.0.1:${tls_port[$1]}/"; else echo "http://127.0.0.1:${port[$1]}/"; fi
}

active=()
for t in "${target_list[@]}"; do
  case "$t" in
    direct) pid_of[direct]=$backends_pid ;;
    fairload)
      if [ $tls = 1 ] && [ $fairload_tls_supported = 0 ]; then
        skipped_note="Fairload skipped: this lb-proxy.jar has no TLS listener (no --tls-port in --help)."
        echo "run.sh: $skipped_note" >&2
        continue
      fi
      start_fairload ;;
    nginx) start_nginx ;;
    haproxy) start_haproxy ;;
    jetty) start_jetty jetty ;;
    jettyfl) start_jetty jettyfl --balanced ;;
    jettycore) start_jetty jettycore --core ;;
  esac
  active+=("$t")
done
for t in "${active[@]}"; do
  wait_http "$(url_of "$t")" 60 || { tail -20 "$work"/*.log "$work"/*/*.log >&2 2> /dev/null; exit 1; }
done
# A response through each proxy must come from a backend.
for t in "${active[@]}"; do
  body=$(curl -ksf "$(url_of "$t")")
  [[ "$body" == backend-* ]] || { echo "run.sh: $t answered '$body'" >&2; exit 1; }
done

# ---------------------------------------------------------------------------------------------------------------------
# Measuring

raw=$work/raw.tsv
: > "$raw"

# run_wrk TARGET CONNECTIONS SECONDS [extra wrk args...]: prints "rps p50_ms p99_ms errors requests cpu_ticks".
run_wrk() {
  local target=$1 connections=$2 seconds=$3
  shift 3
  local url before after out
  url=$(url_of "$target")
  before=$(cpu_ticks "${pid_of[$target]}")
  out=$(taskset -c "$load_cpu" wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "$url")
  after=$(cpu_ticks "${pid_of[$target]}")
  echo "$out" >> "$work/wrk.log"
  echo "$out" | awk -v cpu=$((after - before)) '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v + 0
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    / requests in / { requests = $1 }
    /Socket errors/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx/ { errors += $5 }
    /^Requests\/sec/ { rps = $2 }
    END { printf "%s %s %s %d %d %d\n", rps, p50, p99, errors, requests, cpu }'
}

record() { # mode target connections round rest-of-line
  echo "$*" | tr ' ' '\t' >> "$raw"
}

warm() {
  local t
  for t in "${active[@]}"; do
    if [ "$t" = fairload ] || [ "$t" = jetty ] || [ "$t" = jettyfl ] || [ "$t" = jettycore ]; then
      echo "Warming ${label[$t]} for $warmup s"
      run_wrk "$t" 64 "$warmup" > /dev/null
      if [ $tls = 1 ]; then run_wrk "$t" 16 "$(( (warmup + 5) / 6 ))" -H "Connection: close" > /dev/null; fi
    fi
  done
}

heap_after_gc_kib() { # pid: used heap in KiB right after a full GC
  jcmd "$1" GC.run > /dev/null
  jcmd "$1" GC.heap_info | awk '
    /Metaspace|class space/ { next }
    /used [0-9]+K/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?$/, "", v); sum += v } }
    END { print sum + 0 }'
}

started=$(date -u +%Y%m%dT%H%M%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "Targets: ${active[*]}; rounds $rounds x $duration s; load average $load_start"

warm

if [ $tls = 0 ]; then
  for r in $(seq 1 "$rounds"); do
    for c in 64 256; do
      for t in "${active[@]}"; do
        line=$(run_wrk "$t" "$c" "$duration")
        echo "round $r, $c connections, ${label[$t]}: $line (rps p50_ms p99_ms errors requests cpu_ticks)"
        record throughput "$t" "$c" "$r" "$line"
      done
    done
  done
  if [ "$latency_seconds" -gt 0 ]; then
    for r in $(seq 1 "$rounds"); do
      for t in "${active[@]}"; do
        out=$(taskset -c "$load_cpu" java -Xmx256m -cp "$bench_jar" dev.fairload.lb.benchmarks.proxy.FixedRateLoad \
          "$(url_of "$t")" 1000 "$latency_seconds" 16 3)
        echo "round $r, 1,000 requests/s, ${label[$t]}: $out"
        record latency "$t" 1000 "$r" "$(echo "$out" | sed -E 's/[a-z0-9_]+=//g')"
      done
    done
  fi
  if [ "$soak" -gt 0 ] && [[ " ${active[*]} " == *" fairload "* ]]; then
    fl=${pid_of[fairload]}
    heap_before_kib=$(heap_after_gc_kib "$fl")
    echo "Soak: Fairload at 64 connections for $soak s; heap after full GC $heap_before_kib KiB"
    record heap fairload 0 0 "$heap_before_kib"
    left=$soak
    minute=0
    while [ "$left" -gt 0 ]; do
      chunk=$(( left < 60 ? left : 60 ))
      line=$(run_wrk fairload 64 "$chunk")
      left=$((left - chunk))
      minute=$((minute + 1))
      heap=$(heap_after_gc_kib "$fl")
      echo "soak minute $minute: $line; heap after full GC $heap KiB"
      record soak fairload 64 "$minute" "$line $heap"
    done
  fi
else
  for r in $(seq 1 "$rounds"); do
    for c in 64 256; do
      for t in "${active[@]}"; do
        line=$(run_wrk "$t" "$c" "$duration")
        echo "round $r, TLS keep-alive, $c connections, ${label[$t]}: $line"
        record throughput "$t" "$c" "$r" "$line"
      done
    done
    for t in "${active[@]}"; do
      line=$(run_wrk "$t" 64 "$duration" -H "Connection: close")
      echo "round $r, TLS handshake per request, 64 connections, ${label[$t]}: $line"
      record handshake "$t" 64 "$r" "$line"
    done
  done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------------------------------
# Report

mkdir -p "$root/benchmarks/proxy/results"
if [ $quick = 1 ]; then name="quick-$started"; else name="$started"; fi
[ $tls = 1 ] && name="$name-tls"
report=$root/benchmarks/proxy/results/$name.md
cp "$raw" "$root/benchmarks/proxy/results/$name.tsv"

command_line="benchmarks/proxy/run.sh"
[ $quick = 1 ] && command_line+=" --quick"
[ $tls = 1 ] && command_line+=" --tls"
command_line+=" --rounds $rounds --duration $duration --warmup $warmup"
[ $tls = 0 ] && command_line+=" --latency $latency_seconds --soak $soak"

python3 - "$raw" "$tls" "$ticks_per_second" > "$report" << PYTHON
import statistics, sys
from collections import defaultdict

raw, tls, tps = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
rows = [line.rstrip("\n").split("\t") for line in open(raw) if line.strip()]
label = {"direct": "direct (no proxy)", "fairload": "Fairload", "nginx": "nginx", "haproxy": "HAProxy",
         "jetty": "Jetty ProxyServlet", "jettyfl": "Jetty ProxyServlet + Fairload picks",
         "jettycore": "Jetty core handler + Fairload picks"}
order = [t for t in ["direct", "fairload", "nginx", "haproxy", "jetty", "jettyfl", "jettycore"] if any(r[1] == t for r in rows)]
runs = defaultdict(list)
for r in rows:
    runs[(r[0], r[1], r[2])].append(r[4:])

def med(values):
    return statistics.median(values) if values else float("nan")

def summary(mode, target, conns):
    rs = runs.get((mode, target, conns), [])
    if not rs:
        return None
    rps = med([float(x[0]) for x in rs])
    p50 = med([float(x[1]) for x in rs])
    p99 = med([float(x[2]) for x in rs])
    errors = sum(int(x[3]) for x in rs)
    requests = sum(int(x[4]) for x in rs)
    ticks = sum(int(x[5]) for x in rs)
    cpu_us = ticks / tps * 1e6 / requests if requests else float("nan")
    # per run, for the spread of CPU cost
    per_run = [int(x[5]) / tps * 1e6 / int(x[4]) for x in rs if int(x[4])]
    return dict(rps=rps, p50=p50, p99=p99, errors=errors, cpu_us=cpu_us, n=len(rs),
                rps_min=min(float(x[0]) for x in rs), rps_max=max(float(x[0]) for x in rs))

print("""
| | |
|---|---|
| command | \`$command_line\` |
| date (UTC) | $started |
| commit | \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\` |
| machine | $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ {print $2 " GiB"}') |
| load average (1, 5, 15 min) | at start $load_start; at end $load_end |
| pinning | wrk and FixedRateLoad on CPU $load_cpu; proxy and the three nginx backends on CPU $proxy_cpu |
| JVM | $(java -version 2>&1 | head -1 | tr -d '"'); \`$jvm_opts\` (Fairload and Jetty alike) |
| tools | $(nginx -v 2>&1 | sed 's/nginx version: //'), HAProxy $(haproxy -v 2>&1 | head -1 | awk '{print $3}'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}') |
""".strip())
print()
if "$skipped_note":
    print("**$skipped_note**")
    print()

def throughput_table(mode, title, conns_list):
    print(f"### {title}")
    print()
    print("| connections | target | requests/s (median) | min-max | p50 ms | p99 ms | errors | proxy CPU s per 10,000 requests | proxy CPU µs per request | Fairload / target (requests/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in conns_list:
        fl = summary(mode, "fairload", c)
        for t in order:
            s = summary(mode, t, c)
            if not s:
                continue
            cpu = "-" if t == "direct" else f"{s['cpu_us'] / 100:.3f}"
            cpu_us = "-" if t == "direct" else f"{s['cpu_us']:.1f}"
            ratio = f"{fl['rps'] / s['rps']:.2f}x" if fl and t != "fairload" else "-"
            print(f"| {c} | {label[t]} | {s['rps']:,.0f} | {s['rps_min']:,.0f}-{s['rps_max']:,.0f} | "
                  f"{s['p50']:.2f} | {s['p99']:.2f} | {s['errors']} | {cpu} | {cpu_us} | {ratio} |")
    print()
    print(f"Medians of {max((len(v) for k, v in runs.items() if k[0] == mode), default=0)} interleaved rounds. "
          "Direct's CPU would be the backends', so it is not shown.")
    print()

if not tls:
    throughput_table("throughput", "Throughput (wrk, keep-alive)", ["64", "256"])
    lat = {t: runs.get(("latency", t, "1000"), []) for t in order}
    if any(lat.values()):
        print("### Latency at a fixed 1,000 requests/s (FixedRateLoad, 16 keep-alive connections)")
        print()
        print("| target | p50 µs | p99 µs | p99.9 µs | errors | added p50 µs | added p99 µs |")
        print("|---|---|---|---|---|---|---|")
        d50 = med([float(x[3]) for x in lat.get("direct", [])]) if lat.get("direct") else None
        d99 = med([float(x[5]) for x in lat.get("direct", [])]) if lat.get("direct") else None
        for t in order:
            rs = lat[t]
            if not rs:
                continue
            p50 = med([float(x[3]) for x in rs]); p99 = med([float(x[5]) for x in rs])
            p999 = med([float(x[6]) for x in rs]); errors = sum(int(x[1]) for x in rs)
            a50 = f"{p50 - d50:.0f}" if d50 is not None and t != "direct" else "-"
            a99 = f"{p99 - d99:.0f}" if d99 is not None and t != "direct" else "-"
            print(f"| {label[t]} | {p50:.0f} | {p99:.0f} | {p999:.0f} | {errors} | {a50} | {a99} |")
        print()
    soak = runs.get(("soak", "fairload", "64"), [])
    heap0 = runs.get(("heap", "fairload", "0"), [])
    if soak:
        print(f"### Soak: Fairload at 64 connections for {len(soak)} chunks of up to 60 s")
        print()
        heaps = [int(x[6]) for x in soak]
        errors = sum(int(x[3]) for x in soak)
        requests = sum(int(x[4]) for x in soak)
        base = int(heap0[0][0]) if heap0 else heaps[0]
        print(f"- requests: {requests:,}; errors: {errors}")
        print(f"- heap used after a full GC (KiB): before {base:,}; after each chunk: {', '.join(f'{h:,}' for h in heaps)}")
        print(f"- growth from before the soak to the end: {heaps[-1] - base:+,} KiB; "
              f"from the first chunk to the last: {heaps[-1] - heaps[0]:+,} KiB")
        print()
else:
    throughput_table("throughput", "TLS keep-alive throughput (wrk over TLS 1.3, EC P-256)", ["64", "256"])
    throughput_table("handshake", "TLS full handshakes (wrk, \`Connection: close\`: one handshake per request)", ["64"])
PYTHON

cat "$report"
echo
echo "Report: $report (raw runs: ${report%.md}.tsv; wrk output and logs in $work until the next reboot)"
