#!/usr/bin/env bash
# Builds the JMH benchmarks and runs the comparison, then prints one table with every figure and its ratios to the
# baselines measured in the same run (Trino's memory-context library, AtomicLong, the fixed pool, a raw FileChannel).
#
# Usage: benchmarks/run.sh [--no-build|--report-only] [hotpath|reserve|spill|loop|all]...   (default: all)
#   hotpath  issues #10 and #7: AtomicLong, LongAdder, a thread-local field, memgov exact and thread-batched,
#            Trino's memory-context library, Arrow's allocator; at 1 and 2 threads
#   reserve  issue #6: the reserve-mode pool against the fixed pool; at 1 and 2 threads
#   spill    issue #5: SpillFileManager against a raw FileChannel, with and without LZ4; 1 thread
#   loop     issue #3: one cluster-loop round, 100 nodes x 1,000 queries and 1,000 nodes x 10,000 queries, with the
#            snapshots as records and through their ClusterJson (issue #24); 1 thread
# JMH_OPTS overrides the run length (default: 1 fork, 2 x 1s warm-up, 3 x 1s measurement); all of it takes about
# six minutes on a 2-core machine. Results: benchmarks/target/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
report_only=0
groups=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --report-only) report_only=1 ;;
    hotpath|reserve|spill|loop) groups+=("$arg") ;;
    all) groups+=(hotpath reserve spill loop) ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument '$arg'; expected --no-build, --report-only, hotpath, reserve, spill, loop or all" >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -eq 0 ] && groups=(hotpath reserve spill loop)

out=benchmarks/target/results
if [ "$report_only" = 0 ]; then
if [ "$build" = 1 ]; then
  mvn -B -q -pl benchmarks -am package -DskipTests
fi
jar=benchmarks/target/benchmarks.jar
rm -rf "$out"
mkdir -p "$out"
read -r -a jmh_opts <<< "${JMH_OPTS:--f 1 -wi 2 -i 3 -w 1s -r 1s}"

run() {
  local name=$1 include=$2 threads=$3
  echo "== $name, $threads thread(s)" >&2
  java -jar "$jar" "$include" "${jmh_opts[@]}" -t "$threads" -rf json -rff "$out/$name-t$threads.json" > "$out/$name-t$threads.log" 2>&1 \
    || { tail -n 40 "$out/$name-t$threads.log" >&2; exit 1; }
}

for group in "${groups[@]}"; do
  case "$group" in
    hotpath) run hotpath 'HotPathBenchmark' 1; run hotpath 'HotPathBenchmark' 2 ;;
    reserve) run reserve 'ReservationBenchmark' 1; run reserve 'ReservationBenchmark' 2 ;;
    spill)   run spill 'SpillBenchmark' 1 ;;
    loop)    run loop 'ClusterLoopBenchmark' 1 ;;
  esac
done
fi

python3 - "$out" <<'PY'
import glob, json, os, sys

out = sys.argv[1]
SPILL_BYTES = 64 * 1024 * 128  # SpillBenchmark.BYTES_PER_OPERATION
rows = []
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    for r in json.load(open(path)):
        params = ",".join(f"{k}={v}" for k, v in sorted((r.get("params") or {}).items()))
        m = r["primaryMetric"]
        rows.append(dict(cls=r["benchmark"].split(".")[-2], name=r["benchmark"].split(".")[-1], params=params,
                         threads=r["threads"], score=float(m["score"]), error=float(m["scoreError"]), unit=m["scoreUnit"]))

def find(name, threads, params=""):
    for row in rows:
        if row["name"] == name and row["threads"] == threads and row["params"] == params:
            return row["score"]
    return None

# which Trino figure each memgov hot-path figure is set against: the same depth with the same bookkeeping, and for
# the tracker alone, Trino's library over a bare counter
TRINO_REFERENCE = {
    "memgovExactDepth3": "trinoPoolDepth3",
    "memgovThreadBatchedDepth3": "trinoPoolDepth3",
    "memgovExactDepth5": "trinoPoolDepth5",
    "memgovExactTrackerCall": "trinoAtomicDepth3",
    "memgovThreadBatchedTrackerCall": "trinoAtomicDepth3",
}

def fmt(value, digits=1):
    return "" if value is None else f"{value:.{digits}f}"

print()
print(f"| {'benchmark':<40} | {'params':<36} | {'thr':>3} | {'score':>9} | {'± error':>8} | {'unit':<5} | {'MB/s':>6} | {'× Trino':>8} | {'× AtomicLong':>12} | {'× baseline':>10} |")
print(f"|{'-' * 42}|{'-' * 38}|{'-' * 5}|{'-' * 11}|{'-' * 10}|{'-' * 7}|{'-' * 8}|{'-' * 10}|{'-' * 14}|{'-' * 12}|")
order = {"HotPathBenchmark": 0, "ReservationBenchmark": 1, "SpillBenchmark": 2, "ClusterLoopBenchmark": 3}
for row in sorted(rows, key=lambda r: (order.get(r["cls"], 9), r["name"], r["params"], r["threads"])):
    name, threads, score = row["name"], row["threads"], row["score"]
    mbs = trino = atomic = baseline = None
    if row["cls"] == "HotPathBenchmark" and name.startswith("memgov"):
        reference = find(TRINO_REFERENCE[name], threads)
        trino = score / reference if reference else None
        reference = find("baselineAtomicLongAddAndGet", threads)
        atomic = score / reference if reference else None
        reference = find("baselineThreadLocalField", threads)
        baseline = score / reference if reference else None
    elif row["cls"] == "HotPathBenchmark" and not name.startswith("baselineAtomicLong"):
        reference = find("baselineAtomicLongAddAndGet", threads)
        atomic = score / reference if reference else None
    elif row["cls"] == "ReservationBenchmark":
        reference = find(name, threads, "pool=fixed")
        baseline = score / reference if reference else None
    elif row["cls"] == "SpillBenchmark":
        mbs = SPILL_BYTES / (1024 * 1024) / (score / 1000)
        reference = find("rawFileChannel", threads, row["params"])
        baseline = score / reference if reference else None
    elif row["cls"] == "ClusterLoopBenchmark":
        state = row["params"].split("state=")[1]
        reference = find(name, threads, f"shape=100x1000,state={state}")
        baseline = score / reference if reference else None
    print(f"| {row['cls'].replace('Benchmark', '') + '.' + name:<40} | {row['params']:<36} | {threads:>3} | {score:>9.{3 if score < 10 else 1}f} | "
          f"{row['error']:>8.1f} | {row['unit']:<5} | {fmt(mbs, 0):>6} | {fmt(trino, 2):>8} | {fmt(atomic, 1):>12} | {fmt(baseline, 2):>10} |")

print()
print("× Trino: memgov depth 3 / trinoPoolDepth3, depth 5 / trinoPoolDepth5, tracker calls / trinoAtomicDepth3 (same threads).")
print("× baseline: HotPath memgov / baselineThreadLocalField (same threads); Reservation / pool=fixed; Spill / rawFileChannel")
print("(same compression); ClusterLoop / the 100x1000 shape.")
print()

def scaling(name, params=""):
    one, two = find(name, 1, params), find(name, 2, params)
    # per-thread ns at 2 threads against 1 thread: 2.0 is perfectly linear throughput scaling, 1.0 none
    return (2 * one / two, one, two) if one and two else None

for name, params in (("baselineAtomicLongAddAndGet", ""), ("trinoPoolDepth3", ""), ("memgovExactTrackerCall", "reservationQuantum=0B"),
                     ("memgovThreadBatchedTrackerCall", "reservationQuantum=0B")):
    result = scaling(name, params)
    if result:
        print(f"scaling to 2 threads, {name}: throughput x{result[0]:.2f} (ns/op {result[1]:.2f} -> {result[2]:.2f})")

# the targets of issues #7 and #10, each from this run's figures
print()
print("| target | figure | result |")
print("|---|---|---|")
trino, arrow, field = find("trinoPoolDepth3", 1), find("arrowDepth3", 1), find("baselineThreadLocalField", 1)
def verdict(ok):
    return "met" if ok else "missed"
for quantum in ("0B", "1MB"):
    params = f"reservationQuantum={quantum}"
    exact = find("memgovExactDepth3", 1, params)
    if exact and trino:
        print(f"| exact depth 3, 1 thread, >= 10x faster than Trino (quantum {quantum}) | {trino / exact:.1f}x faster ({exact:.1f} vs {trino:.1f} ns) | {verdict(trino / exact >= 10)} |")
    if exact and arrow:
        print(f"| exact depth 3, 1 thread, within 3x of Arrow depth 3 (quantum {quantum}) | {exact / arrow:.2f}x Arrow's time | {verdict(exact / arrow <= 3)} |")
    result = scaling("memgovExactDepth3", params)
    if result:
        print(f"| exact depth 3, 2 threads, >= 1.5x 1-thread throughput (quantum {quantum}) | x{result[0]:.2f} | {verdict(result[0] >= 1.5)} |")
    batched = find("memgovThreadBatchedDepth3", 1, params)
    if batched and field:
        print(f"| thread-batched depth 3 within 1.5x of the thread-local field (quantum {quantum}) | {batched / field:.2f}x | {verdict(batched / field <= 1.5)} |")
call = find("memgovThreadBatchedTrackerCall", 1, "reservationQuantum=0B")
if call:
    print(f"| thread-batched tracker call <= 3 ns on 1 thread (#7) | {call:.2f} ns ({call / field:.2f}x the field, {call / find('baselineAtomicLongAddAndGet', 1):.2f}x AtomicLong) | {verdict(call <= 3)} |")
result = scaling("memgovThreadBatchedTrackerCall", "reservationQuantum=0B")
if result:
    print(f"| thread-batched tracker call, near-linear to 2 threads (#7) | x{result[0]:.2f} | {verdict(result[0] >= 1.8)} |")
PY
