#!/bin/bash
# Run ON the GPU machine (see device/README.md): a checkpoint that fails after the GPU step, with the
# GPU memory already written into its files and dropped from memory (CRIU refuses an established TCP
# connection): the app must go on with its GPU state intact (VERIFY OK), and no image is kept.
# Then the same app without the connection checkpoints, and a restore of it serves (VERIFY OK).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > "$OUT/gpu-failure-proof.log" 2>&1
GIB=${GIB:-2}
tar xzf device/carry/bundle.tgz -C /opt
export CRYO_HOME=/opt/cryo-carry JAVA_HOME=/opt/cryo-carry/jre
J=$JAVA_HOME/bin/java
echo "date: $(date -u +%FT%TZ)"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
APP=("$J" --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
     dev.cryo.samples.gpu.GpuModelServer --weights-gib "$GIB" --weights-file /tmp/weights.bin --requests 2 --cuda-malloc)
timeout 120 "${APP[@]}" --write-weights-only > /dev/null 2>&1
echo "== 1. checkpoint fails in CRIU after the GPU memory was written out and dropped"
timeout 200 bin/cryo run --image /tmp/store -- "${APP[@]}" --tcp-open; echo "rc=$?"
echo "images kept: $(ls -d /tmp/store/img-* 2>/dev/null | wc -l); temporaries left: $(ls -d /tmp/store/.tmp-* 2>/dev/null | wc -l)"
echo "== 2. the same app without the connection: checkpoint, then a restore"
timeout 200 bin/cryo run --image /tmp/store2 -- "${APP[@]}" | grep -E "GPU|VERIFY|Checkpoint image"
timeout 200 bin/cryo run --image /tmp/store2 -- "${APP[@]}" | grep -E "RESTORED|Restore steps|VERIFY"
