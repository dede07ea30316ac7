#!/bin/bash
# GPU proof, run ON the GPU machine (no Java there): carry device/carry/bundle.tgz (device/prepare-carry.sh),
# lib-core/target and samples/target. It checkpoints and restores the GPU sample (weights in device memory,
# kernels compiled with NVRTC) through bin/cryo's launcher and checks every result bit for bit:
#   cold start (no checkpoint) -> first inference; first start under the launcher (checkpoint);
#   two restores -> first inference, VERIFY OK each; then two failures that must leave the app serving:
#   a kernel running past the lock timeout, and managed memory (which the driver cannot checkpoint).
# Writes everything to $OUT/gpu-proof.log.  WEIGHTS_GIB (default 4) sets the size of the weights;
# DROP_CACHES=0 times with a warm page cache instead of a dropped one.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-proof.log") 2>&1
GIB=${WEIGHTS_GIB:-4}
. device/common.sh
now() { date +%s%3N; }
at() { sed -n "s/^CRYO-TIME $1_epoch_ms=//p" "$2" | head -1; }
# DROP_CACHES=0 keeps the page cache warm (a node that just wrote or pre-fetched the image).
drop() {
  if [ "${DROP_CACHES:-1}" = 0 ]; then echo "(page cache kept warm)"; return; fi
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo "(page cache dropped)" || echo "(page cache NOT dropped)"
}
step() { echo; echo "== $*"; }

echo "date: $(date -u +%FT%TZ)"; uname -r
nvidia-smi --query-gpu=name,uuid,driver_version,memory.total,pcie.link.gen.max --format=csv
/opt/cryo-carry/criu/criu --version | head -1
step "weights: ${GIB} GiB file"
t=$(now); timeout 300 "${APP[@]}" --write-weights-only; echo "written in $(( $(now) - t )) ms (not part of any timing)"

step "1. cold start, no checkpoint"; drop
t=$(now); timeout 300 "${APP[@]}" --no-checkpoint --requests 1 > /tmp/cold.log 2>&1; rc=$?
cat /tmp/cold.log; cold=$(( $(at warmup_inference /tmp/cold.log) - t )); echo "rc=$rc cold_start_to_first_inference_ms=$cold"

step "2. first start under the launcher: builds, checkpoints its CPU and GPU state, carries on"
rm -rf /tmp/gpu-store; drop
t=$(now); timeout 300 "${L[@]}" run --image /tmp/gpu-store -- "${APP[@]}" > /tmp/first.log 2>&1; rc=$?
cat /tmp/first.log; echo "rc=$rc"; du -sh /tmp/gpu-store/img-*; grep -a "^gpu\.\|image.bytes" /tmp/gpu-store/img-*/cryo-image.properties

for n in 1 2; do
  step "3.$n restore #$n of the same image"; drop
  t=$(now); timeout 300 "${L[@]}" run --image /tmp/gpu-store -- "${APP[@]}" > /tmp/restore$n.log 2>&1; rc=$?
  cat /tmp/restore$n.log
  r=$(( $(at served_inference /tmp/restore$n.log) - t )); echo "rc=$rc restore_to_first_inference_ms=$r"
  eval "restore$n=$r rc$n=$rc"
done

step "4. a kernel still running past the lock timeout: checkpoint refused, app goes on"
timeout 300 "${L[@]}" run --image /tmp/gpu-store-busy -- "${APP[@]}" --busy-ms 6000 --lock-timeout-ms 1000 > /tmp/busy.log 2>&1
echo "rc=$?"; cat /tmp/busy.log; ls /tmp/gpu-store-busy 2>&1 | grep -c img- | sed 's/^/images written: /'

step "5. managed (unified) memory: checkpoint refused, app goes on"
timeout 300 "${L[@]}" run --image /tmp/gpu-store-managed -- "${APP[@]}" --managed-mb 64 > /tmp/managed.log 2>&1
echo "rc=$?"; cat /tmp/managed.log; ls /tmp/gpu-store-managed 2>&1 | grep -c img- | sed 's/^/images written: /'

step "summary (${GIB} GiB of weights, one run each)"
echo "cold start to first inference:     ${cold} ms"
echo "restore #1 to first inference:     ${restore1} ms (rc $rc1)"
echo "restore #2 to first inference:     ${restore2} ms (rc $rc2)"
awk -v c="$cold" -v r="$restore1" 'BEGIN{printf "restore is %.1f times faster than a cold start\n", c/r}'
grep -h "VERIFY" /tmp/restore1.log /tmp/restore2.log /tmp/busy.log /tmp/managed.log
