# B1: queries per second against concurrent sessions, one line per variant; SELECT 1 on the
# left, the 1,000-row query on the right.
load plots.'/style.gp'
set multiplot layout 1,2 title "B1: queries per second vs concurrent sessions (pool of 8, exasim on loopback)"
set logscale xy
set xlabel "sessions"
set ylabel "queries/s"
set key inside bottom right font ",8"
do for [w in "select1 rows1000"] {
  file = data.'/B1_'.w.'_qps.dat'
  stats file using 2 nooutput
  set title w
  plot for [c=2:STATS_columns] file using 1:c:xtic(1) with linespoints pt 7 lw (c == 2 ? 2.5 : 1) title columnheader(c)
}
unset multiplot
