#!/bin/bash
# Before/after of one restore-path speed-up: the launcher started from its AOT cache
# (bin/train-launcher-aot) against the same launcher without it (CRYO_NO_AOT=1). Restores the
# demo's SlowStartService image N times each way, alternating, in one run, and prints the median
# time from starting bin/cryo to the app's first answer, the launcher's phases, and the ratio.
# Usage: benchmarks/scripts/launcher-aot.sh [N]   (results also written under benchmarks/results/)
. "$(dirname "$(readlink -f "$0")")/demo-restores.sh"
n=${1:-10}
bin/cryo run --image "$work/images" -- "${app[@]}" > "$work/first.log" 2>&1
run() { # $1: label; env decides the launcher
  local ms log=$work/$1.log
  ms=$(timed_restore "$log")
  echo "$ms" >> "$work/$1.ms"
  sed -n 's/^cryo: restore timing (ms): //p' "$log" >> "$work/$1.phases"
}
for i in $(seq "$n"); do
  CRYO_NO_AOT=1 run without
  run with
done
a=$(median < "$work/without.ms"); b=$(median < "$work/with.ms")
out=benchmarks/results/launcher-aot-$(date -u +%Y%m%dT%H%MZ).txt
mkdir -p benchmarks/results
{
  echo "# launcher AOT cache: restore of SlowStartService, launch to first answer, $n runs each, alternating"
  echo "machine: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | sed -n 1p), $(nproc) cores, kernel $(uname -r), $(cryo_java_version "$JAVA_HOME")"
  echo "image: $(du -sh "$work"/images/img-* | cut -f1)"
  echo "without AOT cache: median ${a} ms  (runs: $(tr '\n' ' ' < "$work/without.ms"))"
  echo "with AOT cache:    median ${b} ms  (runs: $(tr '\n' ' ' < "$work/with.ms"))"
  echo "last launcher phases without: $(tail -1 "$work/without.phases")"
  echo "last launcher phases with:    $(tail -1 "$work/with.phases")"
  awk -v a="$a" -v b="$b" 'BEGIN{printf "restore with the AOT cache takes %.2f of the time without (%.1fx faster)\n", b/a, a/b}'
} | tee "$out"
