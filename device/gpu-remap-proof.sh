#!/bin/bash
# Restore onto the other GPU of a two-GPU machine (run ON it, e.g. the nvidia-h200-x2 kind): the GPU
# sample checkpoints on GPU 0; the launcher restores it with --gpu-map 0=1; the restored process must
# serve from GPU 1 (nvidia-smi shows its memory there) with every result identical (VERIFY OK).
# Carry the same paths as device/gpu-proof.sh. Writes $OUT/gpu-remap-proof.log.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-remap-proof.log") 2>&1
GIB=${WEIGHTS_GIB:-2}
. device/common.sh
APP+=(--hold-ms 4000)
echo "date: $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=index,name,uuid,driver_version,memory.total --format=csv
n=$(nvidia-smi -L | wc -l)
if [ "$n" -lt 2 ]; then echo "only $n GPU here: the remap proof needs two"; exit 2; fi
# Runs the launcher in the background and reads nvidia-smi once the app says where it serves.
launch() { # log args...
  local log=$1; shift
  timeout 300 "${L[@]}" "$@" > "$log" 2>&1 & local p=$!
  for _ in $(seq 1 600); do grep -q "^serving on" "$log" && break; kill -0 $p 2>/dev/null || break; sleep 0.1; done
  nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv
  wait $p; echo "rc=$?"; cat "$log"
}

echo; echo "== checkpoint on GPU 0"
rm -rf /tmp/remap-store
launch /tmp/first.log run --image /tmp/remap-store -- "${APP[@]}"

for map in "0=1" ""; do
  echo; echo "== restore with --gpu-map '${map:-none}'"
  args=(); [ -n "$map" ] && args=(--gpu-map "$map")
  launch /tmp/restore.log run --image /tmp/remap-store "${args[@]}" -- "${APP[@]}"
done
