#!/usr/bin/env bash
# Builds benchmarks/target/benchmarks.jar and runs the lb-core benchmarks behind docs/benchmarks.md:
# pick + complete per strategy, size and thread count; allocation per pick; adding and removing a server at
# 10,000 servers; the JDK building blocks; heap per 1,000,000 sticky sessions. About 25 minutes on 2 cores.
#
# Usage: benchmarks/run-core.sh [--quick] [PHASE...]   (phases: pick alloc pool blocks sessions; default all)
# Results: benchmarks/results/core-<UTC time>/ (jmh.log, *.json, summary.md, sessions.txt, machine.txt).
# --quick is a smoke test of the whole pipeline (about 10 minutes, mostly JVM start-up and pool set-up); its
# numbers mean nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
quick=()
phases=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    pick|alloc|pool|blocks|sessions) phases+=("$arg") ;;
    *) echo "unknown argument: $arg (expected --quick, pick, alloc, pool, blocks, sessions)" >&2; exit 2 ;;
  esac
done
if [ ${#phases[@]} -eq 0 ]; then phases=(pick alloc pool blocks sessions); fi

mvn -B -q -pl benchmarks -am package -DskipTests
jar=benchmarks/target/benchmarks.jar
prefix=core
if [ ${#quick[@]} -gt 0 ]; then prefix=quick; fi
out="benchmarks/results/$prefix-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  java -version 2>&1 | sed 's/^/java: /'
} > "$out/machine.txt"
cat "$out/machine.txt"

jmh_phases=()
for p in "${phases[@]}"; do [ "$p" != sessions ] && jmh_phases+=("$p"); done
if [ ${#jmh_phases[@]} -gt 0 ]; then
  java -cp "$jar" dev.fairload.lb.benchmarks.CoreBenchmarks "$out" "${quick[@]}" "${jmh_phases[@]}"
fi

if [[ " ${phases[*]} " == *" sessions "* ]]; then
  sessions=1000000
  if [ ${#quick[@]} -gt 0 ]; then sessions=100000; fi
  java -Xms2g -Xmx2g -cp "$jar" dev.fairload.lb.benchmarks.SessionMemory "$sessions" 2>&1 | tee "$out/sessions.txt"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
echo "results in $out"
