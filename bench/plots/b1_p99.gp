# B1: 99th percentile latency against concurrent sessions, one line per variant.
load plots.'/style.gp'
set multiplot layout 1,2 title "B1: p99 latency vs concurrent sessions (pool of 8, exasim on loopback)"
set logscale xy
set xlabel "sessions"
set ylabel "p99 latency (ms)"
set format y "%g"
set key inside top left font ",8"
do for [w in "select1 rows1000"] {
  file = data.'/B1_'.w.'_p99_latency.dat'
  stats file using 2 nooutput
  set title w
  plot for [c=2:STATS_columns] file using 1:c:xtic(1) with linespoints pt 7 lw (c == 2 ? 2.5 : 1) title columnheader(c)
}
unset multiplot
