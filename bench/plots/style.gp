# Shared look of the suite's plots. The caller sets: data (the report's data directory),
# out (the PNG to write), plots (this directory). Data files are wide: the x values in the
# first column, one column per variant, named in the header line.
set terminal pngcairo size 1100,560 noenhanced font "DejaVu Sans,10" linewidth 1.5
set output out
set datafile columnheaders
set datafile missing "NaN"
set grid xtics ytics mytics lc rgb "#dddddd"
set key outside right top samplen 2
set pointsize 1.1
set offsets graph 0.04, graph 0.04, 0, 0
set format y "%.0f"
