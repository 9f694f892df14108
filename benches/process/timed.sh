# Sourced by the whole-process benches. `timed CMD...`: the wall seconds of
# each of $runs runs of CMD (output discarded), then their median. `before`
# (default `true`) runs ahead of each timed run, untimed.
before=true
timed() {
  local times=() t0 t1
  for _ in $(seq 1 "$runs"); do
    $before
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
    printf "  runs:"; for (i = 1; i <= NR; i++) printf " %.3f", a[i];
    printf "\n  median %.3f s (min %.3f, max %.3f)\n", a[int((NR + 1) / 2)], a[1], a[NR] }'
}
