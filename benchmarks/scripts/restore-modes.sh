#!/bin/bash
# Restore to the first answer, eager vs lazy (CRIU's lazy pages), against a plain cold start, for
# bin/demo's SlowStartService and the framework-like HeavyStartService, in one run: per app one
# checkpoint, then N rounds of (cold start, eager restore, lazy restore; the order of the two
# restores alternates). Each restore is broken down into its steps from the launcher's timing line
# (bash wrapper, launcher JVM start, launcher phases, CRIU, the restored app until its answer) and
# the time until all memory is resident (lazy: the daemon's end). The machine's page-fault floor
# (dev.cryo.benchmarks.PageFaultFloor) is measured first. Prints medians and ratios; writes
# benchmarks/results/cpu/<date>-restore-modes/: restore-modes.csv, pagefault.txt, machine.txt,
# summary.md (the report's section) and logs.tgz.
# Usage: benchmarks/scripts/restore-modes.sh [N]   (N rounds, default 5; build first: mvn -o -q package -DskipTests)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
cd "$root"
. bin/env.sh
cryo_find_jdk
n=${1:-5}
for f in benchmarks/target/benchmarks.jar samples/target/cryo-samples.jar lib-core/target/cryo-core.jar; do
  [ -f "$f" ] || { echo "restore-modes: $f is missing: build first (mvn -B -o -q package -DskipTests)" >&2; exit 1; }
done
out=benchmarks/results/cpu/$(date -u +%Y-%m-%d)-restore-modes
[ ! -e "$out" ] || out=$out-$(date -u +%H%M%S)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)"
  echo "cores=$(nproc)"
  echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"
  echo "jdk=$(cryo_java_version "$JAVA_HOME")"
  echo "criu=$("$CRYO_CRIU" --version 2>/dev/null | sed -n 's/^Version: //p' | head -1)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo ?)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rounds=$n"
} > "$out/machine.txt"
cat "$out/machine.txt"

echo "== page-fault floor"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
  dev.cryo.benchmarks.PageFaultFloor 512 | tee "$out/pagefault.txt"

now() { date +%s%3N; }
index=$work/index.csv
echo "app,mode,round,start_epoch_ms,log" > "$index"
for app in SlowStartService HeavyStartService; do
  cmd=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
       "dev.cryo.samples.$app")
  store=$work/store-$app
  echo "== $app: checkpoint"
  timeout 300 bin/cryo run --image "$store" -- "${cmd[@]}" > "$work/logs/$app-checkpoint.log" 2>&1
  grep -q "Checkpoint image " "$work/logs/$app-checkpoint.log" \
    || { echo "restore-modes: $app wrote no image:"; tail -20 "$work/logs/$app-checkpoint.log"; exit 1; }
  cp "$store"/img-*/cryo-image.properties "$out/image-$app.properties"
  for r in $(seq "$n"); do
    modes=(eager lazy); [ $((r % 2)) = 1 ] || modes=(lazy eager)
    log=$work/logs/$app-cold-$r.log
    t=$(now); timeout 300 "${cmd[@]}" --no-checkpoint > "$log" 2>&1
    echo "$app,cold,$r,$t,$log" >> "$index"
    for mode in "${modes[@]}"; do
      log=$work/logs/$app-$mode-$r.log
      t=$(now); timeout 300 bin/cryo run --image "$store" --restore-mode "$mode" -- "${cmd[@]}" > "$log" 2>&1 || :
      echo "$app,$mode,$r,$t,$log" >> "$index"
    done
    echo "   round $r done"
  done
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
/usr/bin/python3 benchmarks/report/make_report.py --restore-modes-csv "$index" "$out"
tar -czf "$out/logs.tgz" -C "$work" logs
echo
/usr/bin/python3 benchmarks/report/make_report.py --restore-modes "$out" | tee "$out/summary.md"
