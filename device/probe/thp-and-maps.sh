#!/bin/bash
# Probe: whether transparent huge pages (always vs madvise) change the restore steps' speed of an
# image whose GPU memory is among CRIU's pages. Sets THP back to what it was. Its 2026-11-23 output:
# device/results/2026-11-23-h100-thp-probe.log (at the time it also copied /proc/self/smaps around
# the CUDA checkpoint: the driver's host copy is one new private anonymous mapping, the size of the
# device memory in use; see GpuMemoryFiles).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > "$OUT/probe.log" 2>&1
tar xzf device/carry/bundle.tgz -C /opt
export CRYO_HOME=/opt/cryo-carry JAVA_HOME=/opt/cryo-carry/jre
J=$JAVA_HOME/bin/java
GIB=${GIB:-4}
APP=("$J" --enable-native-access=ALL-UNNAMED -Dcryo.gpu.memoryFiles=false -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
     dev.cryo.samples.gpu.GpuModelServer --weights-gib "$GIB" --weights-file /tmp/weights.bin --requests 1 --cuda-malloc)
bash bin/train-launcher-aot
timeout 120 "${APP[@]}" --write-weights-only >/dev/null 2>&1
timeout 200 bin/cryo run --image /tmp/store -- "${APP[@]}" > /tmp/first.log 2>&1; echo "first rc=$?"; grep -E "GPU state|Checkpoint image" /tmp/first.log
thp=/sys/kernel/mm/transparent_hugepage/enabled
orig=$(sed 's/.*\[\(.*\)\].*/\1/' $thp); echo "THP was: $orig"
for mode in madvise always madvise always; do
  echo $mode > $thp 2>/dev/null || echo "cannot set THP $mode"
  echo "THP now: $(cat $thp)"
  timeout 200 bin/cryo run --image /tmp/store -- "${APP[@]}" > /tmp/r.log 2>&1; echo "restore rc=$?"
  grep -E "restore timing|Restore steps|VERIFY" /tmp/r.log
done
echo "$orig" > $thp; echo "THP restored: $(cat $thp)"
grep -E "AnonHugePages|thp" /proc/meminfo | head -3
