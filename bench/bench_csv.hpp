// Rows of the benchmark CSV convention (bench/README.md), appended to the file a benchmark
// program is given with --bench.csv=<path>. No header: the suite writes it once.
//   benchmark,workload,variant,sessions,metric,value,unit
#pragma once

#include "apps/exapool/options.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

namespace exapool::bench {

class csv_rows {
public:
  // An empty path writes nothing (the program only prints its table). The file is opened for
  // appending right away, so a path that cannot be written fails before any measurement.
  explicit csv_rows(const std::string& path) : path_(path) {
    if (path_.empty())
      return;
    out_.open(path_, std::ios::app);
    if (!out_)
      throw std::runtime_error("cannot append to the CSV file " + path_);
  }

  void add(const std::string& benchmark, const std::string& workload, const std::string& variant,
           std::size_t sessions, const std::string& metric, double value, const std::string& unit) {
    if (path_.empty())
      return;
    // Plain decimals (no exponent), so the numbers read the same in the CSV and the tables.
    char number[64];
    std::snprintf(number, sizeof number, value >= 100 || value <= -100 ? "%.1f" : "%.4g", value);
    out_ << benchmark << ',' << workload << ',' << variant << ',' << sessions << ',' << metric
         << ',' << number << ',' << unit << '\n';
    out_.flush();
    if (!out_)
      throw std::runtime_error("writing to the CSV file " + path_ + " failed");
  }

private:
  std::string path_;
  std::ofstream out_;
};

// The main of a benchmark program with CAF-style options: parses them (help, a bad option named),
// opens the CSV file `cfg.csv` names, runs; an exception ends it with its text and exit code 1.
template <class Config, class Run> int bench_main(int argc, char** argv, Run run) {
  Config cfg;
  if (auto code = exapool::cli::parse_options(cfg, argc, argv))
    return *code;
  try {
    csv_rows csv(cfg.csv);
    return run(cfg, csv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

} // namespace exapool::bench
