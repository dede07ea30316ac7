. /work/main/benchmarks/scripts/demo-restores.sh
thp=/sys/kernel/mm/transparent_hugepage/enabled
bin/cryo run --image "$work/images" -- "${app[@]}" > "$work/first.log" 2>&1
du -sh $work/images
for i in 1 2 3 4 5; do
  for m in madvise always; do
    echo $m > $thp
    ms=$(timed_restore "$work/r.log")
    criu=$(sed -n 's/^cryo: restore timing (ms): .*criuRestore=\([0-9]*\).*/\1/p' "$work/r.log")
    pid=$(sed -n 's/^CRYO-PID=//p' "$work/r.log")
    echo "$m first=$ms criu=$criu"
  done
done
echo madvise > $thp
