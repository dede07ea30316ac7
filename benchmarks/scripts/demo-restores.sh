# Sourced by the launcher benchmarks (launcher-aot.sh, launcher-phases.sh): the project's JDK and
# launcher (its AOT cache trained for the current jar), a scratch directory $work removed on exit,
# the demo's SlowStartService command line in $app, and how one restore of it is timed.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
cd "$root"
. bin/env.sh
cryo_find_jdk
cryo_launcher_java "$root"
[ -f "$CRYO_LAUNCHER_AOT" ] && [ "$CRYO_LAUNCHER_AOT" -nt lib-core/target/cryo-core.jar ] || bash bin/train-launcher-aot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
app=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "samples/target/cryo-samples.jar:samples/target/lib/*"
     dev.cryo.samples.SlowStartService --queries 1)
now() { date +%s%3N; }

# Restores the demo from $work/images with its output in $1 (the environment chooses the launcher)
# and prints the milliseconds from starting bin/cryo to the app's first answer; fails when it was not
# restored. Call it as ms=$(timed_restore LOG), so that a failure stops the script. RESTORE_MODE=eager|lazy
# passes --restore-mode (unset: the launcher chooses).
timed_restore() {
  local t log=$1
  t=$(now); bin/cryo run ${RESTORE_MODE:+--restore-mode "$RESTORE_MODE"} --image "$work/images" -- "${app[@]}" > "$log" 2>&1
  grep -q "CRYO RESTORED" "$log" || { echo "not restored:" >&2; cat "$log" >&2; return 1; }
  echo $(( $(sed -n 's/^CRYO-TIME first_answer_epoch_ms=//p' "$log") - t ))
}

# The median of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
