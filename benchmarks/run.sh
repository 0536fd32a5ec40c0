#!/usr/bin/env bash
# Builds and runs the JMH benchmarks at 1 and 2 threads, then prints each memgov figure as a ratio to
# AtomicLong.addAndGet from the same run. Usage: benchmarks/run.sh [JMH include regex, default: all]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl benchmarks -am package -DskipTests
include="${1:-.}"
out=benchmarks/target/results
mkdir -p "$out"
for threads in 1 2; do
  java -jar benchmarks/target/benchmarks.jar "$include" -t "$threads" -rf json -rff "$out/t$threads.json" | tail -n 8
done
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
rows = []
for threads in (1, 2):
    for r in json.load(open(os.path.join(out, f"t{threads}.json"))):
        rows.append((r["benchmark"].split(".")[-1], threads, r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"]))
base = {t: s for (b, t, s, e) in rows if b == "atomicLongAddAndGet"}
print(f"{'benchmark':<28} {'threads':>7} {'ns/op':>10} {'error':>8} {'x AtomicLong':>13} {'ops/us total':>13}")
for b, t, s, e in rows:
    ratio = s / base[t] if t in base else float('nan')
    print(f"{b:<28} {t:>7} {s:>10.1f} {e:>8.1f} {ratio:>13.1f} {t * 1000 / s:>13.1f}")
PY
