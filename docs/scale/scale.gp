set datafile separator ','
set terminal pngcairo size 1500,500
set output 'docs/scale/scale.png'
set multiplot layout 1,3 title 'minkernel bursts on one host (2 cores): bootstorm vs the plain reference spawner, same run'
set key top left
set grid
set logscale x 2
set xrange [48:1600]
set xlabel 'guests at once'
set title 'time'
set ylabel 'seconds'
plot 'docs/scale/bootstorm.dat' using 5:($11/1000) with linespoints lc 1 pt 7 title 'bootstorm: all ready', \
     'docs/scale/reference.dat' using 5:($11/1000) with linespoints lc 2 pt 7 title 'reference: all ready', \
     'docs/scale/bootstorm.dat' using 5:($8/1000) with linespoints lc 1 dt 2 pt 6 title 'bootstorm: per-guest p50', \
     'docs/scale/reference.dat' using 5:($8/1000) with linespoints lc 2 dt 2 pt 6 title 'reference: per-guest p50'
set title 'host memory in use (MemTotal - MemAvailable)'
set ylabel 'GiB'
plot 'docs/scale/bootstorm.dat' using 5:($12/1024) with linespoints lc 1 pt 7 title 'bootstorm: peak', \
     'docs/scale/reference.dat' using 5:($12/1024) with linespoints lc 2 pt 7 title 'reference: peak'
set title 'per guest'
set key top left
set ylabel 'PSS MiB'
set y2label 'spawner CPU ms'
set y2tics
set ytics nomirror
set yrange [0:24]
set y2range [0:2]
plot 'docs/scale/bootstorm.dat' using 5:15 with linespoints lc 1 pt 7 title 'bootstorm: guest PSS', \
     'docs/scale/reference.dat' using 5:15 with linespoints lc 2 pt 7 title 'reference: guest PSS', \
     'docs/scale/bootstorm.dat' using 5:16 axes x1y2 with linespoints lc 1 dt 2 pt 6 title 'bootstorm launcher CPU (right)', \
     'docs/scale/reference.dat' using 5:16 axes x1y2 with linespoints lc 2 dt 2 pt 6 title 'reference spawner CPU (right)'
unset multiplot
