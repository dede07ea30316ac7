#!/bin/bash
# Image size of each sample (SlowStartService: bin/demo's; HeavyStartService: framework-like) under
# JVM flag sets that may shrink it. Each run starts the sample cold under bin/cryo into a fresh
# image directory; it checkpoints itself (Cryo's GC step included) and the image's size
# (cryo-image.properties: image.bytes) and the resident memory before/after the GC step are read.
# Usage: benchmarks/scripts/image-size.sh [OUT.csv]   (prints the table; also writes OUT.csv)
# Configurations: the CONFIGS array below, "label|flags" (CRYO_IMAGE_SIZE_CONFIGS: "label|flags;...");
# each runs CRYO_IMAGE_SIZE_RUNS times (default 3), interleaved, and the median is printed.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
cd "$root"
. bin/env.sh
cryo_find_jdk
out=${1:-/dev/null}
apps=(${CRYO_IMAGE_SIZE_APPS:-SlowStartService HeavyStartService})
CONFIGS=(
  "default|"
  "-Dcryo.noMallocTrim=true (before malloc_trim)|-Dcryo.noMallocTrim=true"
  "-XX:+UseSerialGC|-XX:+UseSerialGC"
  "-XX:+UseSerialGC -XX:MaxHeapFreeRatio=10|-XX:+UseSerialGC -XX:MinHeapFreeRatio=5 -XX:MaxHeapFreeRatio=10"
  "-XX:TieredStopAtLevel=1|-XX:TieredStopAtLevel=1"
  "-Xss256k|-Xss256k"
  "-XX:-UsePerfData|-XX:-UsePerfData"
  "-XX:G1PeriodicGCInterval=1000|-XX:G1PeriodicGCInterval=1000"
  "-XX:+AlwaysPreTouch|-XX:+AlwaysPreTouch"
)
[ -z "${CRYO_IMAGE_SIZE_CONFIGS:-}" ] || mapfile -t CONFIGS < <(printf '%s\n' "${CRYO_IMAGE_SIZE_CONFIGS//;/$'\n'}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
echo "app,config,image_bytes,resident_before_gc,resident_after_gc,checkpoint_ms" > "$work/sizes.csv"
printf '%-18s %-44s %10s %22s\n' app config "image MB" "resident MB (GC step)"
runs=${CRYO_IMAGE_SIZE_RUNS:-3}
for run in $(seq "$runs"); do
for app in "${apps[@]}"; do
  for c in "${CONFIGS[@]}"; do
    label=${c%%|*} flags=${c#*|}
    store=$work/store-$app
    rm -rf "$store"
    # shellcheck disable=SC2086
    timeout 300 bin/cryo run --image "$store" -- "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $flags \
      -cp "samples/target/cryo-samples.jar:samples/target/lib/*" "dev.cryo.samples.$app" \
      > "$work/run.log" 2>&1 || :
    props=$(ls -d "$store"/img-*/cryo-image.properties 2>/dev/null | head -1 || :)
    if [ -z "$props" ]; then
      echo "image-size: no image for $app with '$label':" >&2; tail -20 "$work/run.log" >&2; continue
    fi
    bytes=$(sed -n 's/^image.bytes=//p' "$props")
    gc=$(sed -n 's/.*resident memory \([0-9.]*\) MB -> \([0-9.]*\) MB.*/\1,\2/p' "$work/run.log" | head -1 || :)
    ms=$(sed -n 's/.*Checkpoint image .* in \([0-9]*\) ms.*/\1/p' "$work/run.log" | head -1 || :)
    echo "$app,$label,$bytes,${gc:-,},${ms}" >> "$work/sizes.csv"
    printf '%-18s %-44s %10s %22s  (run %d)\n' "$app" "$label" "$(mb "$bytes")" "${gc/,/ -> }" "$run"
  done
done
done
cp "$work/sizes.csv" "$out"
echo
echo "median of $runs run(s), and the range:"
/usr/bin/python3 - "$work/sizes.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
seen = []
for r in rows:
    if (r["app"], r["config"]) not in seen:
        seen.append((r["app"], r["config"]))
base = {}
for app, cfg in seen:
    b = [int(r["image_bytes"]) for r in rows if r["app"] == app and r["config"] == cfg]
    m = statistics.median(b)
    base.setdefault(app, m)
    print("%-18s %-44s %8.1f MB  (%.1f-%.1f, n=%d)  %+5.1f%% vs default" % (
        app, cfg, m / 1e6, min(b) / 1e6, max(b) / 1e6, len(b), 100 * (m / base[app] - 1)))
PY
