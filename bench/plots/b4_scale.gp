# B4: how the cost of a cycle and the memory per waiting session grow with waiting sessions.
load plots.'/style.gp'
set multiplot layout 1,2 title "B4: scale with waiting sessions (pool of 8, exapool)"
set logscale x
set xlabel "waiting sessions"
set key inside top left
file = data.'/B4_waiting_ns_per_cycle.dat'
stats file using 2 nooutput
set title "cost of a borrow + return cycle"
set ylabel "ns per cycle"
set yrange [0:*]
plot for [c=2:STATS_columns] file using 1:c:xtic(1) with linespoints pt 7 lw (c == 2 ? 2.5 : 1) title columnheader(c)
file = data.'/B4_waiting_bytes_per_waiter.dat'
stats file using 2 nooutput
set title "memory per waiting session"
set ylabel "bytes per waiter"
plot for [c=2:STATS_columns] file using 1:c:xtic(1) with linespoints pt 7 lw (c == 2 ? 2.5 : 1) title columnheader(c)
unset multiplot
