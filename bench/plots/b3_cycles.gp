# B3: borrow + return cycles per second with do-nothing connections against concurrent
# sessions (exapool: actors; HikariCP: threads), pool of 8. Log y: the variants differ by
# more than an order of magnitude.
load plots.'/style.gp'
file = data.'/B3_cycle_cycles_per_s.dat'
stats file using 2 nooutput
set title "B3: pool mechanics, borrow + return cycles per second (pool of 8, do-nothing connections)"
set logscale x
set logscale y
set format y "%.0s%c"
set xlabel "concurrent sessions (exapool: actors, HikariCP: threads)"
set ylabel "cycles/s"
plot for [c=2:STATS_columns] file using 1:c:xtic(1) with linespoints pt 7 lw (c == 2 ? 2.5 : 1) title columnheader(c)
