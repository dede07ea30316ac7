. /work/main/benchmarks/scripts/demo-restores.sh
bin/cryo run --image "$work/images" -- "${app[@]}" > "$work/first.log" 2>&1
ls -la /run/criu.kdat* || true
for i in 1 2 3 4 5 6; do
  for m in eager lazy; do
    RESTORE_MODE=$m; ms=$(timed_restore "$work/r.log")
    echo "tmpfs-kdat $m first=$ms $(grep -o 'lazyPagesReady=[0-9]*\|criuRestore=[0-9]*' $work/r.log | tr '\n' ' ')"
  done
done
ls -la /run/criu.kdat* || true
