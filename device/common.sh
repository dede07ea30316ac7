# Sourced by the GPU scripts, run ON the GPU machine from the repo root: unpacks the carry bundle
# into /opt/cryo-carry and defines J (java), L (the launcher) and APP (the GPU sample) for $GIB GiB.
tar xzf device/carry/bundle.tgz -C /opt
export CRYO_HOME=/opt/cryo-carry
J=/opt/cryo-carry/jre/bin/java
L=("$J" --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData
   -cp "lib-core/target/cryo-core.jar:lib-core/target/lib/*" dev.cryo.internal.launch.Launcher)
APP=("$J" --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
     dev.cryo.samples.gpu.GpuModelServer --weights-gib "$GIB")
