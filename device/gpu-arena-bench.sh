#!/bin/bash
# Device memory that Cryo moves itself (dev.cryo.DeviceMemory) against the driver's path, run ON the
# GPU machine (carry device/carry/bundle.tgz, bin/, device/, lib-core/target, samples/target; see
# device/README.md). For the GPU sample with GIBS GiB of weights (default "1 4 16"), page cache warm
# (the weights file and the image just written), one run each:
#   managed: weights in DeviceMemory, loaded through Cryo's pinned pipeline; Cryo copies them into
#            the image itself and fills them back (same address) after the dump and after restore,
#            through a ring of 32 pinned 4 MiB buffers by parallel readers (the default);
#   managed-chunk32: the same with the chunks and ring before 2026-12-02 (16 x 32 MiB);
#   managed-mapped: the same, filled from the files mapped and registered read-only;
#   driver:  weights in cuMemAlloc memory loaded through one pinned staging buffer (--cuda-malloc);
#            the driver's checkpoint moves them (with GPU memory files, the default before this);
#   driver-direct: the same, its GPU memory files written with O_DIRECT (past the page cache).
# For each: cold start to first inference (no Cryo), the first start under bin/cryo (checkpoint: every
# step's time), a restore through bin/cryo to first inference, VERIFY OK checked (every inference and
# a checksum of all device memory, bit for bit). START_WORK=N adds the sample's start work (N more
# kernels compiled, an autotune, a CUDA graph) to every start. FILLPROBE=N (GiB, 0 = none) first measures the fill
# paths on cold starts: the ring with 32 or 4 MiB chunks, 16, 32 or 64 slots, 8, 12 or 16 readers, 4 or 8
# streams, and the file mapped and registered read-only. FAILPROOF=1 adds: a dump CRIU refuses after the memory was copied out and
# released (the app goes on, VERIFY OK, no image kept), and an image with a device memory file
# missing (the launcher names it and starts cold). TMPFS=1 keeps the images on a tmpfs (the weights
# file stays on the disk, in the page cache). SYNC=1 writes dirty pages back (sync, not timed) after
# the weights are written and after each checkpoint, so that no writeback runs during the timed steps.
# GEN=1: the sample generates its weights on the GPU (--weights-on-device; no weights file, so a 32 GiB
# image fits on the disk; the cold start then reads no weights). DROP=1 adds, per case, a cold start
# and a restore with the page cache dropped first (sync; echo 3 > /proc/sys/vm/drop_caches).
# Writes $OUT/gpu-arena-bench.log, arena.csv, machine.txt and details.tgz (every log and image metadata).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-arena-bench.log") 2>&1
GIBS=${GIBS:-1 4 16}
MODES=${MODES:-managed driver}
FILLPROBE=${FILLPROBE:-0}
FAILPROOF=${FAILPROOF:-1}
tar xzf device/carry/bundle.tgz -C /opt
export CRYO_HOME=/opt/cryo-carry JAVA_HOME=/opt/cryo-carry/jre
J=$JAVA_HOME/bin/java
W=/tmp/arena
if [ "${TMPFS:-0}" = 1 ]; then mkdir -p $W && mount -t tmpfs -o size=100g tmpfs $W && echo "(images on tmpfs)"; fi
mkdir -p $W
now() { date +%s%3N; }
at() { sed -n "s/^CRYO-TIME $1_epoch_ms=//p" "$2" | head -1; }
prop() { sed -n "s/^$1=//p" "$2" | head -1; }
# The timings files beside the image (StepTimings), not log sentences: IMAGE/timings.json (the
# checkpoint's steps), IMAGE/restores.log (the last restore's launcher phases and app steps).
jnum() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -1; }
step() { jnum "$1" < "$2/timings.json" 2>/dev/null; }
rstep() { grep '"by":"app"' "$2/restores.log" 2>/dev/null | tail -1 | jnum "$1"; }
lphase() { grep '"by":"launcher"' "$2/restores.log" 2>/dev/null | tail -1 | jnum "$1"; }
gbs() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.2f", b / 1e6 / ms; else printf "-" }'; }
DETAILS=/tmp/details; rm -rf "$DETAILS"; mkdir -p "$DETAILS"

echo "date: $(date -u +%FT%TZ)  kernel $(uname -r)  $(nproc) cores  $(free -g | awk '/Mem:/{print $2}') GiB RAM"
nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv,noheader
df -h $W | tail -1; cat /sys/kernel/mm/transparent_hugepage/enabled
"$CRYO_HOME/criu/criu" --version | head -1; "$J" -version 2>&1 | head -1
{ echo "date=$(date -u +%F)"; echo "gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
  echo "driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
  echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"; echo "cores=$(nproc)"
  echo "memory=$(free -g | awk '/Mem:/{print $2}') GiB"; echo "kernel=$(uname -r)"
  echo "jdk=$("$J" -version 2>&1 | head -1)"; echo "criu=$("$CRYO_HOME/criu/criu" --version | head -1)"
  echo "storage=$(df -h $W | tail -1 | awk '{print $1}') (TMPFS=${TMPFS:-0})"
  echo "note=GPU sample (weights in device memory, NVRTC kernels, warm-up inference); page cache warm; one run per row"
} > "$OUT/machine.txt"
bash bin/train-launcher-aot > /dev/null 2>&1

START_WORK=${START_WORK:-0}
app() { # $1 GiB, then extra JVM options before the main class: the sample's command. The weights file
  # is not named on the command line (the sample's default path), so that the build key does not hash it.
  local gib=$1; shift
  APP=("$J" --enable-native-access=ALL-UNNAMED "$@" -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
       dev.cryo.samples.gpu.GpuModelServer --weights-gib "$gib" --requests 2)
  [ "$START_WORK" != 0 ] && APP+=(--start-work "$START_WORK")
  [ "${GEN:-0}" = 1 ] && APP+=(--weights-on-device)
}
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
weights() { # the sample's default weights file, /tmp/cryo-weights-BYTES.bin (on the disk, in the page cache)
  rm -f /tmp/cryo-weights-*.bin
  if [ "${GEN:-0}" = 1 ]; then echo "weights: $1 GiB generated on the GPU at each cold start (no file)"; return; fi
  app "$1"; local t; t=$(now)
  timeout 300 "${APP[@]}" --write-weights-only > /dev/null 2>&1 || echo "!! writing the weights failed"
  echo "weights: $1 GiB written in $(( $(now) - t )) ms (not part of any timing)"
  settle
}
settle() { # SYNC=1: dirty pages written back first (a weights file or image that is not brand new)
  if [ "${SYNC:-0}" = 1 ]; then local t; t=$(now); sync; echo "(synced in $(( $(now) - t )) ms, not timed)"; fi
}

if [ "$FILLPROBE" != 0 ]; then
  echo; echo "==================== fill paths: cold starts, $FILLPROBE GiB read from the page cache into DeviceMemory"
  weights "$FILLPROBE"
  D=-Dcryo.deviceMemory
  for v in "$D.chunkMiB=32 $D.slots=16" "$D.chunkMiB=4 $D.slots=32" "$D.chunkMiB=4 $D.slots=16" "$D.chunkMiB=4 $D.slots=64" \
           "$D.chunkMiB=4 $D.slots=32 $D.threads=8" "$D.chunkMiB=4 $D.slots=32 $D.threads=16" \
           "$D.chunkMiB=4 $D.slots=32 $D.streams=8" "$D.chunkMiB=2 $D.slots=64" \
           "$D.mapped=true $D.registerThreads=1 $D.pieceMiB=256"; do
    # shellcheck disable=SC2086
    app "$FILLPROBE" $v; timeout 300 "${APP[@]}" --no-checkpoint > /tmp/probe.log 2>&1
    echo "$v: $(grep -o 'load [0-9]* ms ([0-9.]* GB/s)' /tmp/probe.log) $(grep -c 'VERIFY OK' /tmp/probe.log) VERIFY OK"
  done
  app "$FILLPROBE" --cuda-malloc; timeout 300 "${APP[@]}" --cuda-malloc --no-checkpoint > /tmp/probe.log 2>&1
  echo "cuMemAlloc + one 256 MiB pinned staging buffer: $(grep -o 'load [0-9]* ms ([0-9.]* GB/s)' /tmp/probe.log)"
fi

csv=$OUT/arena.csv
echo "case,gib,cold_ms,restore_ms,checkpoint_ms,image_bytes,dm_out_ms,gpu_suspend_ms,gpu_memory_files_ms,criu_dump_ms,dm_refill_ms,launcher_criu_ms,restore_gpu_ms,restore_gpu_memory_files_ms,restore_dm_ms,verify_ok,cold_dropped_ms,restore_dropped_ms,restore_dropped_dm_ms,verify_ok_dropped" > "$csv"
for gib in $GIBS; do
  echo; echo "==================== $gib GiB"
  weights "$gib"
  for mode in $MODES; do
    flag=(); opts=()
    case $mode in
      driver) flag=(--cuda-malloc) ;;
      driver-direct) flag=(--cuda-malloc); opts=(-Dcryo.gpu.memoryFiles.direct=true) ;;
      managed-mapped) opts=(-Dcryo.deviceMemory.mapped=true) ;;
      managed-chunk32) opts=(-Dcryo.deviceMemory.chunkMiB=32 -Dcryo.deviceMemory.slots=16) ;;
    esac
    app "$gib" "${opts[@]}"; store=$W/store-$mode-$gib; rm -rf "$store"
    t=$(now); timeout 300 "${APP[@]}" "${flag[@]}" --no-checkpoint > /tmp/cold.log 2>&1
    cold=$(( $(at warmup_inference /tmp/cold.log) - t ))
    grep -h "CRYO-START" /tmp/cold.log; cp /tmp/cold.log "$DETAILS/$mode-${gib}gib-cold.log"
    timeout 300 bin/cryo run --image "$store" -- "${APP[@]}" "${flag[@]}" > /tmp/first.log 2>&1
    grep -hE "Device memory|GPU state|GPU memory|Checkpoint image|VERIFY|CHECKPOINT FAILED" /tmp/first.log
    cp /tmp/first.log "$DETAILS/$mode-${gib}gib-checkpoint.log"
    meta=$(ls "$store"/img-*/cryo-image.properties 2>/dev/null | head -1)
    [ -n "$meta" ] && cp "$meta" "$DETAILS/$mode-${gib}gib-image.properties"
    img=$(dirname "${meta:-/nonexistent/x}")
    ckpt=$(sed -n 's/.*Checkpoint image .* in \([0-9]*\) ms (steps.*/\1/p' /tmp/first.log | head -1)
    settle
    refill=$(sed -n 's/.*Device memory mapped again at its addresses and filled from .*: .* in \([0-9]*\) ms.*/\1/p' /tmp/first.log | head -1)
    t=$(now); timeout 300 bin/cryo run --image "$store" -- "${APP[@]}" "${flag[@]}" > /tmp/restore.log 2>&1
    ms=$(( $(at served_inference /tmp/restore.log) - t ))
    grep -hE "restore timing|Restore steps|Device memory|VERIFY|RESTORED|GPU state restored" /tmp/restore.log
    cp /tmp/restore.log "$DETAILS/$mode-${gib}gib-restore.log"
    ok=$(grep -c 'VERIFY OK' /tmp/restore.log)
    row="$mode,$gib,$cold,$ms,$ckpt,$(prop image.bytes "$meta"),$(step deviceMemoryOut "$img"),$(step gpuSuspend "$img"),$(step gpuMemoryFiles "$img"),$(step criuDump "$img"),$refill,$(lphase criuRestore "$img"),$(rstep gpuRestore "$img"),$(rstep gpuMemoryFiles "$img"),$(rstep deviceMemory "$img"),$ok"
    echo ">> $mode $gib GiB: cold $cold ms, restore $ms ms, checkpoint $ckpt ms, restore VERIFY OK: $ok"
    if [ "${DROP:-0}" = 1 ]; then
      drop; t=$(now); timeout 300 "${APP[@]}" "${flag[@]}" --no-checkpoint > /tmp/cold-dropped.log 2>&1
      cd_ms=$(( $(at warmup_inference /tmp/cold-dropped.log) - t ))
      drop; t=$(now); timeout 300 bin/cryo run --image "$store" -- "${APP[@]}" "${flag[@]}" > /tmp/restore-dropped.log 2>&1
      rd_ms=$(( $(at served_inference /tmp/restore-dropped.log) - t ))
      cp /tmp/restore-dropped.log "$DETAILS/$mode-${gib}gib-restore-dropped.log"
      okd=$(grep -c 'VERIFY OK' /tmp/restore-dropped.log)
      grep -hE "restore timing|Restore steps|Device memory|VERIFY" /tmp/restore-dropped.log
      row="$row,$cd_ms,$rd_ms,$(rstep deviceMemory "$img"),$okd"
      echo ">> $mode $gib GiB, page cache dropped: cold $cd_ms ms, restore $rd_ms ms, VERIFY OK: $okd"
    else
      row="$row,,,,"
    fi
    echo "$row" >> "$csv"
    rm -rf "$store"
  done
done

if [ "$FAILPROOF" = 1 ]; then
  gib=2; weights $gib; app $gib
  echo; echo "==================== failure: CRIU refuses the dump (an established TCP connection) after the device memory was copied out and released"
  rm -rf $W/store-fail
  timeout 300 bin/cryo run --image $W/store-fail -- "${APP[@]}" --tcp-open > /tmp/fail.log 2>&1; echo "rc=$?"
  grep -hE "Device memory|GPU state|CHECKPOINT FAILED|VERIFY|filled again" /tmp/fail.log | cut -c1-400
  echo "images kept: $(ls -d $W/store-fail/img-* 2>/dev/null | wc -l); temporaries left: $(ls -d $W/store-fail/.tmp-* 2>/dev/null | wc -l)"
  cp /tmp/fail.log "$DETAILS/failure-criu-refuses.log"
  echo; echo "==================== failure: a device memory file missing from the image: named, cold start"
  rm -rf $W/store-miss
  timeout 300 bin/cryo run --image $W/store-miss -- "${APP[@]}" > /tmp/miss1.log 2>&1
  rm -f $W/store-miss/img-*/device-memory-0.bin
  timeout 300 bin/cryo run --image $W/store-miss -- "${APP[@]}" > /tmp/miss2.log 2>&1; echo "rc=$?"
  grep -hE "cannot restore|cold|VERIFY|CHECKPOINT|RESTORED" /tmp/miss2.log | cut -c1-400
  cp /tmp/miss2.log "$DETAILS/failure-missing-file.log"
  rm -rf $W/store-miss $W/store-fail
fi
rm -f /tmp/cryo-weights-*.bin
echo; echo "== arena.csv"; cat "$csv"
echo; echo "== summary (link: 55 GB/s each way from pinned memory, device-lab/bw.c)"
awk -F, 'NR > 1 { printf "%-14s %3s GiB: cold %6s ms  restore %6s ms  (%.2fx)  checkpoint %6s ms  copy out %s GB/s  fill %s GB/s  VERIFY OK %s%s\n",
  $1, $2, $3, $4, ($4 > 0 ? $3 / $4 : 0), $5, ($7 > 0 ? sprintf("%.1f", $2 * 1.073741824 / $7 * 1000) : "-"),
  ($15 > 0 ? sprintf("%.1f", $2 * 1.073741824 / $15 * 1000) : "-"), $16,
  ($18 != "" ? sprintf("; dropped: cold %s ms, restore %s ms, VERIFY OK %s", $17, $18, $20) : "") }' "$csv"
cp hs_err*.log "$DETAILS/" 2>/dev/null
tar czf "$OUT/details.tgz" -C "$DETAILS" .
