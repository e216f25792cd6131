# B1: the client's CPU time per statement against concurrent sessions, one line per variant
# (lower is cheaper); SELECT 1 on the left, the 1,000-row query on the right. Only the client
# process is counted: the suite runs exasim as its own process (on its own core when it can).
load plots.'/style.gp'
set multiplot layout 1,2 title "B1: client CPU time per statement vs concurrent sessions (exasim in its own process)"
set logscale xy
set xlabel "sessions"
set ylabel "client CPU µs per statement"
set key inside top left font ",8"
do for [w in "select1 rows1000"] {
  file = data.'/B1_'.w.'_cpu_us_per_query.dat'
  stats file using 2 nooutput
  set title w
  plot for [c=2:STATS_columns] file using 1:c:xtic(1) with linespoints pt 7 lw (c == 2 ? 2.5 : 1) title columnheader(c)
}
unset multiplot
