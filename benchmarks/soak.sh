#!/usr/bin/env bash
# Soak run of the standalone proxy (not part of CI): a steady rate of GETs for MINUTES minutes through
# lb-servlet-proxy/target/lb-proxy.jar to three local backends, one backend stopped and restarted every minute.
# Prints a line every 30 s (requests, errors, proxy heap after GC, threads, file descriptors) and a RESULT line.
#
# Usage: benchmarks/soak.sh [MINUTES] [RATE]     (defaults: 30 minutes, 500 requests per second)
# Results: benchmarks/results/soak-<UTC time>.txt
set -euo pipefail

cd "$(dirname "$0")/.."
minutes="${1:-30}"
rate="${2:-500}"
mvn -B -q -pl lb-servlet-proxy,benchmarks -am package -DskipTests
out="benchmarks/results/soak-$(date -u +%Y%m%dT%H%M%SZ).txt"
mkdir -p benchmarks/results
{
  echo "# soak: $minutes min at $rate req/s; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1)"
  java -cp benchmarks/target/benchmarks.jar dev.fairload.lb.benchmarks.soak.SoakDriver \
    lb-servlet-proxy/target/lb-proxy.jar "$minutes" "$rate"
} | tee "$out"
