#!/bin/bash
# The launcher's phases before CRIU starts, on a restore of the demo's SlowStartService: one
# checkpoint, then N restores, each timed from starting bin/cryo to the app's first answer; prints
# the median of each phase of the `restore timing (ms)` line and of the total, with `uptime`.
# Usage: [EXTRA=K] [RESTORE_MODE=eager|lazy] [OUT=DIR] benchmarks/scripts/launcher-phases.sh [N] [LABEL]
# (writes DIR/LABEL.txt)
# Run it on two builds in the same hour (before/after a change) for a comparison.
. "$(dirname "$(readlink -f "$0")")/demo-restores.sh"
n=${1:-10}
label=${2:-run}
# EXTRA=K: K older images of other command lines in the store first (a store used by several
# builds), which a choice that reads every image's metadata pays for.
for k in $(seq "${EXTRA:-0}"); do
  bin/cryo run --quiet --image "$work/images" -- "${app[@]:0:${#app[@]}-2}" --documents 2000 --queries "$((k + 1))" \
    > "$work/extra-$k.log" 2>&1
  sleep 1 # image ids are by the second
done
bin/cryo run --image "$work/images" -- "${app[@]}" > "$work/first.log" 2>&1
load() { uptime 2>/dev/null || echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"; }
load_before=$(load)
for i in $(seq "$n"); do
  log=$work/restore-$i.log
  ms=$(timed_restore "$log")
  echo "$ms" >> "$work/total.ms"
  # wrapper=3 jvmStart=80 {buildKey=20, chooseImage=11, ...} mode=eager ... -> one "name value" a line
  sed -n 's/^cryo: restore timing (ms): //p' "$log" | tr -d '{},' | tr ' ' '\n' | grep '=[0-9]*$' \
    | tr '=' ' ' >> "$work/phases"
  grep -o ' mode=[a-z]* modeBasis=[a-zA-Z]*' "$log" | sed 's/^ //' >> "$work/modes" || true
done
load_after=$(load)
{
  echo "# $label: launcher phases (ms, medians of $n restores of SlowStartService; ${EXTRA:-0} other images in the store; mode ${RESTORE_MODE:-chosen by the launcher}; $(nproc) cores), $(git rev-parse --short HEAD 2>/dev/null || echo "?")"
  echo "load before: $load_before"
  echo "load after:  $load_after"
  echo "modes:       $(sort "$work/modes" | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2 " " $3, $1}')"
  for p in $(awk '{print $1}' "$work/phases" | awk '!seen[$0]++' | grep -v startEpochMs); do
    printf '%-18s %6s   (runs: %s)\n' "$p" "$(awk -v p="$p" '$1==p{print $2}' "$work/phases" | median)" \
      "$(awk -v p="$p" '$1==p{print $2}' "$work/phases" | tr '\n' ' ')"
  done
  printf '%-18s %6s   (runs: %s)\n' "firstAnswer" "$(median < "$work/total.ms")" "$(tr '\n' ' ' < "$work/total.ms")"
} > "$work/summary.txt"
cat "$work/summary.txt"
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && cp "$work/summary.txt" "$OUT/$label.txt"; fi
