#!/bin/bash
# GPU benchmarks, run ON the GPU machine (carry device/carry, lib-core/target, samples/target; see
# device/README.md). For the GPU sample with 1, 2, 4, 8 and 16 GiB of weights in device memory
# (GIBS overrides), in one run:
#   cold start to first inference, without Cryo (--no-checkpoint);
#   the first start under bin/cryo, which checkpoints: the image's size and each step's time;
#   a restore through bin/cryo to first inference (every inference is checked bit for bit);
# each with the page cache warm (the image and the weights file just written: a node that keeps its
# images in memory or prefetched them) and, with DROP=1 (default), dropped (both read from disk);
# and, for the before/after of one speed-up, images whose GPU memory is kept among CRIU's pages
# (-Dcryo.gpu.memoryFiles=false, as before) against GPU memory files (the default now). The weights
# are in cuMemAlloc memory (--cuda-malloc), which the driver moves; gpu-arena-bench.sh measures
# DeviceMemory, which Cryo moves itself.
# The clock starts when the process (the app, or bin/cryo) is started and stops when the app has
# served its first inference. Writes $OUT/gpu.csv (one row per case and size: a cold start and a
# restore; columns in benchmarks/report/README.md), machine.txt, gpu-bench.log, and details.tgz
# (each start's log and each image's metadata).
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
# The timings files beside the image (StepTimings), not log sentences: in IMAGE/restores.log, the
# launcher's phases and the restored app's steps of the last restore.
jnum() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -1; }
phase() { grep '"by":"launcher"' "$2/restores.log" 2>/dev/null | tail -1 | jnum "$1"; }
rstep() { grep '"by":"app"' "$2/restores.log" 2>/dev/null | tail -1 | jnum "$1"; }

echo "date: $(date -u +%FT%TZ)  kernel $(uname -r)  $(nproc) cores  $(free -g | awk '/Mem:/{print $2}') GiB RAM"
nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv,noheader
grep -m1 "model name" /proc/cpuinfo; df -h /tmp | tail -1; cat /sys/kernel/mm/transparent_hugepage/enabled
"$CRYO_HOME/criu/criu" --version | head -1; "$J" -version 2>&1 | head -1
machine="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1), driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
bash bin/train-launcher-aot

csv=$OUT/gpu.csv
DETAILS=/tmp/details; rm -rf "$DETAILS"; mkdir -p "$DETAILS"   # every log and image metadata, as one tgz
cols=(case gib run cold_ms restore_ms launcher_restore_ms checkpoint_ms image_bytes step_gpuSuspend_ms
      step_gpuMemoryFiles_ms step_criuDump_ms step_gpuMemoryReload_ms restore_criuRestore_ms restore_gpuMemoryFiles_ms
      restore_gpuRestore_ms restore_gpuUnlock_ms restore_afterRestore_ms launcher_jvm_ms launcher_before_criu_ms verify_ok)
(IFS=,; echo "${cols[*]}") > "$csv"
{ echo "date=$(date -u +%F)"; echo "gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
  echo "driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
  echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"; echo "cores=$(nproc)"
  echo "memory=$(free -g | awk '/Mem:/{print $2}') GiB"; echo "kernel=$(uname -r)"
  echo "jdk=$("$J" -version 2>&1 | head -1)"; echo "criu=$("$CRYO_HOME/criu/criu" --version | head -1)"
  echo "note=GPU sample (weights read into device memory, NVRTC kernel, warm-up inference); one run per row"
} > "$OUT/machine.txt"
cold() { # $1 cache: prints ms from start to first inference of a plain cold start
  [ "$1" = dropped ] && drop
  local t; t=$(now); timeout 300 "${APP[@]}" --no-checkpoint > /tmp/cold.log 2>&1
  echo $(( $(at warmup_inference /tmp/cold.log) - t ))
}
checkpoint() { # $1 store, then JVM options: the first start under bin/cryo, which checkpoints
  local store=$1; shift
  local t; t=$(now); timeout 300 bin/cryo run --image "$store" -- "$J" "$@" "${APP[@]:1}" > /tmp/first.log 2>&1
  grep -E "GPU state|GPU memory|Checkpoint image" /tmp/first.log
  cp /tmp/first.log "$DETAILS/log-${gib}gib-checkpoint-$(basename "$store").log"
}
restore() { # $1 case $2 store $3 cache $4 cold ms, then JVM options
  local name=$1 store=$2 cache=$3 coldms=$4; shift 4
  local meta; meta=$(ls "$store"/img-*/cryo-image.properties | head -1)
  local img; img=$(dirname "$meta"); rm -f "$img/restores.log"   # this restore's lines only
  [ "$cache" = dropped ] && drop
  local t; t=$(now); timeout 300 bin/cryo run --image "$store" -- "$J" "$@" "${APP[@]:1}" > /tmp/restore.log 2>&1
  local ms=$(( $(at served_inference /tmp/restore.log) - t ))
  grep -E "restore timing|Restore steps|VERIFY" /tmp/restore.log
  cp /tmp/restore.log "$DETAILS/log-${gib}gib-restore-$name.log"
  grep -q "CRYO RESTORED" /tmp/restore.log || echo "!! $name $gib GiB: not restored"
  local ckpt; ckpt=$(sed -n 's/.*Checkpoint image .* in \([0-9]*\) ms (steps.*/\1/p' /tmp/first-$name.log | head -1)
  local before=$(( $(phase buildKey "$img") + $(phase chooseImage "$img") + $(phase loadLibcriu "$img") + $(phase prepareRequest "$img") ))
  local launcher; launcher=$(sed -n 's/^cryo: restored image .* in \([0-9]*\) ms.*/\1/p' /tmp/restore.log | head -1)
  echo "$name,$gib,1,$coldms,$ms,$launcher,$ckpt,$(prop image.bytes "$meta"),$(prop step.gpuSuspend.millis "$meta"),$(prop step.gpuMemoryFiles.millis "$meta"),$(prop step.criuDump.millis "$meta"),$(sed -n 's/.*GPU memory read back from the image files in \([0-9]*\) ms.*/\1/p' /tmp/first-$name.log | head -1),$(phase criuRestore "$img"),$(rstep gpuMemoryFiles "$img"),$(rstep gpuRestore "$img"),$(rstep gpuUnlock "$img"),$(rstep afterRestore "$img"),$(phase jvmStart "$img"),$before,$(grep -c 'VERIFY OK' /tmp/restore.log)" >> "$csv"
  echo "$name $gib GiB: cold $coldms ms, restore $ms ms"
}

for gib in $GIBS; do
  echo; echo "==================== $gib GiB"
  APP=("$J" --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
       dev.cryo.samples.gpu.GpuModelServer --weights-gib "$gib" --weights-file /tmp/weights.bin --requests 2 --cuda-malloc)
  rm -rf /tmp/store-files /tmp/store-pages /tmp/weights.bin
  timeout 300 "${APP[@]}" --write-weights-only > /dev/null 2>&1 || echo "writing the weights failed"
  checkpoint /tmp/store-pages -Dcryo.gpu.memoryFiles=false; cp /tmp/first.log /tmp/first-criu-pages.log
  cp /tmp/first.log /tmp/first-criu-pages-dropped.log
  checkpoint /tmp/store-files; cp /tmp/first.log /tmp/first-memory-files.log; cp /tmp/first.log /tmp/first-memory-files-dropped.log
  cp /tmp/store-files/img-*/cryo-image.properties "$DETAILS/image-${gib}gib-memory-files.properties"
  cp /tmp/store-pages/img-*/cryo-image.properties "$DETAILS/image-${gib}gib-criu-pages.properties"
  c=$(cold warm)
  restore criu-pages /tmp/store-pages warm "$c" -Dcryo.gpu.memoryFiles=false
  restore memory-files /tmp/store-files warm "$c"
  if [ "$DROP" = 1 ]; then
    c=$(cold dropped)
    restore criu-pages-dropped /tmp/store-pages dropped "$c" -Dcryo.gpu.memoryFiles=false
    restore memory-files-dropped /tmp/store-files dropped "$c"
  fi
done
rm -rf /tmp/store-files /tmp/store-pages /tmp/weights.bin
echo; echo "== gpu.csv"; cat "$csv"
echo; echo "== ratios (cold start / restore; memory-files speed-up = criu-pages restore / memory-files restore)"
awk -F, 'NR > 1 { r[$1 "," $2] = $5; c[$1 "," $2] = $4; g[$2] = 1 }
  END { for (x in g) printf "%5s GiB  warm: cold/restore %.2f, memory-files speed-up %.2f   dropped: cold/restore %.2f\n",
        x, c["memory-files," x] / r["memory-files," x], r["criu-pages," x] / r["memory-files," x],
        (r["memory-files-dropped," x] ? c["memory-files-dropped," x] / r["memory-files-dropped," x] : 0) }' "$csv" | sort -n
cp hs_err*.log "$DETAILS/" 2>/dev/null
tar czf "$OUT/details.tgz" -C "$DETAILS" .
