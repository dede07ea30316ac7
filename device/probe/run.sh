#!/bin/bash
# First device probe: CPU path of Cryo on the GPU machine, libnvrtc location, CUDA state answers.
set -u; OUT=${OUT:-/tmp/out}; mkdir -p $OUT
exec > >(tee $OUT/probe.log) 2>&1
tar xzf device/carry/bundle.tgz -C /opt; export CRYO_HOME=/opt/cryo-carry; J=/opt/cryo-carry/jre/bin/java
nvidia-smi --query-gpu=name,uuid,driver_version,memory.total --format=csv
/opt/cryo-carry/criu/criu --version; /opt/cryo-carry/criu/criu check
echo "== nvrtc:"; ls /usr/local/cuda/lib64/libnvrtc.so* 2>&1 | head -3; find / -name "libnvrtc.so*" -not -path "*/proc/*" 2>/dev/null | head -5
echo "== probe"; timeout 60 $J --enable-native-access=ALL-UNNAMED -cp device/probe CudaStateProbe
echo "== CPU demo through the launcher"
cat /proc/driver/nvidia/gpus/*/information 2>&1 | head -12
app=($J --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*" dev.cryo.samples.SlowStartService)
L=($J --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "lib-core/target/cryo-core.jar:lib-core/target/lib/*" dev.cryo.internal.launch.Launcher)
for i in 1 2 3; do t=$(date +%s%3N); timeout 120 "${L[@]}" run --image /tmp/store -- "${app[@]}" > /tmp/run$i.log 2>&1; echo "run $i rc=$? first_answer_after_ms=$(( $(sed -n 's/^CRYO-TIME first_answer_epoch_ms=//p' /tmp/run$i.log) - t ))"; grep -E "cryo:|Checkpoint image|INDEX" /tmp/run$i.log; done
