# B2: what getting a usable session costs: open over ws, over wss, or borrow from a warm pool,
# at each login latency (bars, log scale: the three differ by orders of magnitude).
load plots.'/style.gp'
file = data.'/B2_latency.dat'
stats file using 2 nooutput
set title "B2: connection cost, open vs borrow from a warm exapool pool"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.1:*]
set offsets 0, 0, 0, 0
set format y "%g"
set ylabel "microseconds (log scale)"
set xlabel "exasim login latency"
plot for [c=2:STATS_columns] file using c:xtic(1) title columnheader(c)
