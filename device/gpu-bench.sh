#!/bin/bash
# GPU benchmarks, run ON the GPU machine (carry device/carry, lib-core/target, samples/target; see
# device/README.md). For the GPU sample with 1, 2, 4, 8 and 16 GiB of weights in device memory
# (GIBS overrides), in one run:
#   cold start to first inference, without Cryo (--no-checkpoint);
#   the first start under bin/cryo, which checkpoints: the image's size and each step's time;
#   a restore through bin/cryo to first inference (every inference is checked bit for bit);
# each with the page cache warm (the image and the weights file just written: a node that keeps its
# images in memory or prefetched them) and, with DROP=1 (default), dropped (both read from disk).
# The clock starts when the process (the app, or bin/cryo) is started and stops when the app has
# served its first inference. Writes $OUT/gpu.csv (one row per measured start; columns in
# benchmarks/report/README.md), $OUT/gpu-bench.log and each image's metadata.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > "$OUT/gpu-bench.log" 2>&1
GIBS=${GIBS:-1 2 4 8 16}
DROP=${DROP:-1}
tar xzf device/carry/bundle.tgz -C /opt
export CRYO_HOME=/opt/cryo-carry JAVA_HOME=/opt/cryo-carry/jre
J=$JAVA_HOME/bin/java
now() { date +%s%3N; }
at() { sed -n "s/^CRYO-TIME $1_epoch_ms=//p" "$2" | head -1; }
prop() { sed -n "s/^$1=//p" "$2" | head -1; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
phase() { sed -n "s/.*restore timing (ms): .*$1=\([0-9]*\).*/\1/p" "$2" | head -1; }
rstep() { sed -n "s/.*Restore steps (ms): .*$1=\([0-9]*\).*/\1/p" "$2" | head -1; }

echo "date: $(date -u +%FT%TZ)  kernel $(uname -r)  $(nproc) cores  $(free -g | awk '/Mem:/{print $2}') GiB RAM"
nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv,noheader
grep -m1 "model name" /proc/cpuinfo; df -h /tmp | tail -1; cat /sys/kernel/mm/transparent_hugepage/enabled
"$CRYO_HOME/criu/criu" --version | head -1; "$J" -version 2>&1 | head -1
machine="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
bash bin/train-launcher-aot

csv=$OUT/gpu.csv
echo "case,gib,cache,kind,total_ms,image_bytes,gpu_host_bytes,gpu_lock_ms,gpu_checkpoint_ms,criu_dump_ms,launcher_jvm_ms,launcher_before_criu_ms,criu_restore_ms,gpu_restore_ms,gpu_unlock_ms,after_restore_ms,verify,machine" > "$csv"
row() { echo "gpu-sample,$1,$2,$3,$4,$5,$6,$7,$8,$9,${10},${11},${12},${13},${14},${15},${16},\"$machine\"" >> "$csv"; }

for gib in $GIBS; do
  echo; echo "==================== $gib GiB"
  APP=("$J" --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
       dev.cryo.samples.gpu.GpuModelServer --weights-gib "$gib" --weights-file /tmp/weights.bin --requests 2)
  rm -rf /tmp/store /tmp/weights.bin
  timeout 300 "${APP[@]}" --write-weights-only > /dev/null 2>&1 || echo "writing the weights failed"
  caches="warm"; [ "$DROP" = 1 ] && caches="warm dropped"

  # The checkpointing start (page cache warm: the weights were just written).
  t=$(now); timeout 300 bin/cryo run --image /tmp/store -- "${APP[@]}" > /tmp/first.log 2>&1; rc=$?
  first=$(( $(at served_inference /tmp/first.log) - t ))
  meta=$(ls /tmp/store/img-*/cryo-image.properties | head -1)
  cp "$meta" "$OUT/image-${gib}gib.properties"
  grep -E "GPU state|Checkpoint image|Collected" /tmp/first.log
  echo "first start (checkpoints): rc=$rc ${first} ms to first inference"
  row "$gib" warm checkpointing-start "$first" "$(prop image.bytes "$meta")" "$(prop gpu.hostBytes "$meta")" \
    "$(prop gpu.lockMillis "$meta")" "$(prop gpu.checkpointMillis "$meta")" "$(prop step.criuDump.millis "$meta")" \
    "" "" "" "" "" "" "$(grep -c 'VERIFY OK' /tmp/first.log)"

  for cache in $caches; do
    [ "$cache" = dropped ] && drop
    t=$(now); timeout 300 "${APP[@]}" --no-checkpoint > /tmp/cold.log 2>&1; rc=$?
    cold=$(( $(at warmup_inference /tmp/cold.log) - t ))
    echo "cold ($cache cache): rc=$rc ${cold} ms to first inference"
    row "$gib" "$cache" cold "$cold" "" "" "" "" "" "" "" "" "" "" "" ""

    [ "$cache" = dropped ] && drop
    t=$(now); timeout 300 bin/cryo run --image /tmp/store -- "${APP[@]}" > /tmp/restore.log 2>&1; rc=$?
    restore=$(( $(at served_inference /tmp/restore.log) - t ))
    grep -E "restore timing|Restore steps|GPU state restored|VERIFY" /tmp/restore.log
    echo "restore ($cache cache): rc=$rc ${restore} ms to first inference"
    row "$gib" "$cache" restore "$restore" "$(prop image.bytes "$meta")" "" "" "" "" \
      "$(phase jvmStart /tmp/restore.log)" \
      "$(( $(phase buildKey /tmp/restore.log) + $(phase chooseImage /tmp/restore.log) + $(phase loadLibcriu /tmp/restore.log) + $(phase prepareRequest /tmp/restore.log) ))" \
      "$(phase criuRestore /tmp/restore.log)" "$(rstep gpuRestore /tmp/restore.log)" "$(rstep gpuUnlock /tmp/restore.log)" \
      "$(rstep afterRestore /tmp/restore.log)" "$(grep -c 'VERIFY OK' /tmp/restore.log)"
    grep -q "VERIFY FAILED" /tmp/restore.log && echo "!! VERIFY FAILED after restore"
  done
done
rm -rf /tmp/store /tmp/weights.bin
echo; echo "== gpu.csv"; cat "$csv"
