#!/usr/bin/env bash
# The scale curve: minkernel bursts of 64 .. 1280 guests at once on this host, bootstorm
# and the plain reference spawner (bench/ref_spawner.c) at each size in the same run,
# driven by bench/storm.sh. Checks the host's limits first (and refuses sizes they
# cannot hold), raises this script's soft fd limit to the hard one, then writes
# OUT/scale.csv (one row per tool and size, appended to) and draws OUT/scale.png
# (gnuplot) from the whole CSV.
# usage: bench/scale.sh [COUNTS...]   (default 64 128 256 512 1024 1280)
# env OUT=DIR (default ./scale-out); HOLD_S (default 0: bootstorm's hold_s, storm.sh);
#   ACCEL (default kvm); MACHINE (QEMU -M of both tools, default the profile's
#   microvm,pit=off,pic=off,rtc=off: without these timers a halted minkernel costs no
#   CPU; MACHINE=microvm puts them back, and each idle guest costs ~2.7 ms of CPU per
#   second, which 1280 guests cannot afford on 2 cores: docs/SCALING.md).
# Run it under flock /work/bench.lock on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(64 128 256 512 1024 1280)
for n in "${counts[@]}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "scale.sh: count '$n' is not a positive integer" >&2; exit 2; }
done
out=${OUT:-scale-out}
machine=${MACHINE:-}
mkdir -p "$out"

# Limits, before anything starts. Per guest: QEMU has 3 threads (main, RCU, vCPU) and the
# kernel adds one (kvm-nx-lpage-recovery); the launcher holds 2-3 pipe fds, the reference
# 1; the host gives ~14 MiB (PSS, measured at 1280).
max=0
for n in "${counts[@]}"; do [ "$n" -le "$max" ] || max=$n; done
ulimit -n "$(ulimit -Hn)" # our processes (the reference) inherit it; the launcher raises its own
fds=$(ulimit -n) procs=$(ps -e --no-headers -L | wc -l)
pid_max=$(cat /proc/sys/kernel/pid_max) threads_max=$(cat /proc/sys/kernel/threads-max)
avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
echo "limits: ulimit -n $fds, ulimit -u $(ulimit -u), pid_max $pid_max, threads-max $threads_max," \
    "threads now $procs, MemAvailable $avail MiB, pipe-user-pages-soft $(cat /proc/sys/fs/pipe-user-pages-soft)"
why=()
[ "$fds" -ge $((3 * max + 256)) ] || why+=("ulimit -n $fds < $((3 * max + 256))")
[ "$pid_max" -ge $((procs + 5 * max)) ] || why+=("pid_max $pid_max < $((procs + 5 * max))")
[ "$threads_max" -ge $((procs + 5 * max)) ] || why+=("threads-max $threads_max < $((procs + 5 * max))")
[ "$(ulimit -u)" = unlimited ] || [ "$(ulimit -u)" -ge $((procs + 5 * max)) ] ||
    why+=("ulimit -u $(ulimit -u) < $((procs + 5 * max))")
[ "$avail" -ge $((16 * max + 1024)) ] || why+=("MemAvailable $avail MiB < $((16 * max + 1024)) MiB")
if [ ${#why[@]} -gt 0 ]; then
    printf 'scale.sh: %d guests cannot run here: %s\n' "$max" "${why[*]}" >&2
    exit 1
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)," \
    "QEMU -M ${machine:-as in the built profile}, accel ${ACCEL:-kvm}, $(date -u '+%F %H:%M UTC')," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

ACCELS=${ACCEL:-kvm} MACHINE=$machine HOLD_S=${HOLD_S:-0} CSV=$out/scale.csv bench/storm.sh "${counts[@]}"
echo "csv: $out/scale.csv"

# The chart: time (all ready, per-guest p50), host memory, and per guest (PSS, spawner
# CPU) by size; one data file per tool (sorted by size) so each draws one line.
for tool in bootstorm reference; do
    awk -F, -v t=$tool 'NR > 1 && $4 == t' "$out/scale.csv" | sort -t, -k5,5n >"$out/$tool.dat"
done
cat >"$out/scale.gp" <<EOF
set datafile separator ','
set terminal pngcairo size 1500,500
set output '$out/scale.png'
set multiplot layout 1,3 title 'minkernel bursts on one host ($(nproc) cores): bootstorm vs the plain reference spawner, same run'
set key top left
set grid
set logscale x 2
set xrange [$((counts[0] * 3 / 4)):$((max * 5 / 4))]
set xlabel 'guests at once'
set title 'time'
set ylabel 'seconds'
plot '$out/bootstorm.dat' using 5:(\$11/1000) with linespoints lc 1 pt 7 title 'bootstorm: all ready', \\
     '$out/reference.dat' using 5:(\$11/1000) with linespoints lc 2 pt 7 title 'reference: all ready', \\
     '$out/bootstorm.dat' using 5:(\$8/1000) with linespoints lc 1 dt 2 pt 6 title 'bootstorm: per-guest p50', \\
     '$out/reference.dat' using 5:(\$8/1000) with linespoints lc 2 dt 2 pt 6 title 'reference: per-guest p50'
set title 'host memory in use (MemTotal - MemAvailable)'
set ylabel 'GiB'
plot '$out/bootstorm.dat' using 5:(\$12/1024) with linespoints lc 1 pt 7 title 'bootstorm: peak', \\
     '$out/reference.dat' using 5:(\$12/1024) with linespoints lc 2 pt 7 title 'reference: peak'
set title 'per guest'
set key top left
set ylabel 'PSS MiB'
set y2label 'spawner CPU ms'
set y2tics
set ytics nomirror
set yrange [0:24]
set y2range [0:2]
plot '$out/bootstorm.dat' using 5:15 with linespoints lc 1 pt 7 title 'bootstorm: guest PSS', \\
     '$out/reference.dat' using 5:15 with linespoints lc 2 pt 7 title 'reference: guest PSS', \\
     '$out/bootstorm.dat' using 5:16 axes x1y2 with linespoints lc 1 dt 2 pt 6 title 'bootstorm launcher CPU (right)', \\
     '$out/reference.dat' using 5:16 axes x1y2 with linespoints lc 2 dt 2 pt 6 title 'reference spawner CPU (right)'
unset multiplot
EOF
gnuplot "$out/scale.gp" && echo "chart: $out/scale.png"
