// Wire-layer benchmark (issue 2): round trips per second of `SELECT 1` on one connection over
// ws and wss, the C++ client next to the official TypeScript driver on the same exasim in the
// same run, and the parse throughput of a 100,000-row result. Prints figures; asserts nothing.
//
//   build/bench/wire_bench [--bench.seconds=3] [--bench.rows=100000] [--bench.skip-ts-driver]
//                          [--bench.csv=<file to append the rows to: W,select1_ws,cpp_client,...>]
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "integration/exasol/response.hpp"

#include <boost/json.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

struct bench_config : caf::actor_system_config {
  double seconds = 3.0;
  std::size_t rows = 100000;
  bool skip_ts_driver = false;
  std::string peers_dir = EXAPOOL_PEERS_DIR;
  std::string csv;

  bench_config() {
    opt_group{custom_options_, "bench"}
        .add(seconds, "seconds", "duration of each round-trip measurement")
        .add(rows, "rows", "rows of the parsed result")
        .add(skip_ts_driver, "skip-ts-driver",
             "do not run the TypeScript driver (needs node, npm ci)")
        .add(peers_dir, "peers-dir", "integration/peers with its node_modules")
        .add(csv, "csv", "append the figures as CSV rows to this file (bench/README.md)");
  }
};

double elapsed_s(clock_type::time_point since) {
  return std::chrono::duration<double>(clock_type::now() - since).count();
}

// SELECT 1 in a loop on one connection for `seconds`; returns round trips per second.
double cpp_round_trips(const exasim::server& server, bool tls, double seconds) {
  exasol::connection_options opts;
  opts.dsn = tls ? server.dsn() : "127.0.0.1:" + std::to_string(server.port());
  opts.tls = tls;
  opts.user = "sys";
  opts.password = "exasol";
  exasol::connection conn(opts);
  for (int i = 0; i < 200; ++i) // warm-up
    conn.execute("SELECT 1");
  std::size_t n = 0;
  auto start = clock_type::now();
  while (elapsed_s(start) < seconds) {
    for (int i = 0; i < 100; ++i)
      conn.execute("SELECT 1");
    n += 100;
  }
  double rate = static_cast<double>(n) / elapsed_s(start);
  conn.disconnect();
  return rate;
}

// Runs the TypeScript driver's benchmark script against the same server; returns mode -> rt/s.
std::map<std::string, double> ts_round_trips(const exasim::server& server,
                                             const bench_config& cfg) {
  std::ostringstream cmd;
  cmd << "node '" << cfg.peers_dir
      << "/bench_roundtrips.js' --host=127.0.0.1 --port=" << server.port()
      << " --fingerprint=" << server.fingerprint() << " --seconds=" << cfg.seconds << " 2>&1";
  std::map<std::string, double> rates;
  FILE* pipe = popen(cmd.str().c_str(), "r");
  if (pipe == nullptr)
    return rates;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    // "ts-driver ws select1 rt_per_s=12345.6 n=5000 seconds=0.405"
    auto key = text.find("rt_per_s=");
    if (text.rfind("ts-driver ", 0) == 0 && key != std::string::npos)
      rates[text.substr(10, text.find(' ', 10) - 10)] = std::stod(text.substr(key + 9));
    else
      std::cerr << "  ts-driver: " << text;
  }
  pclose(pipe);
  return rates;
}

// A fetch response of `rows` rows in Exasol's column-major shape, with the columns it types.
std::pair<std::string, exasol::result_set> make_fetch_response(std::size_t rows) {
  namespace json = boost::json;
  json::array ids, names, prices, ratios, stamps, flags;
  for (std::size_t r = 0; r < rows; ++r) {
    ids.emplace_back(static_cast<std::int64_t>(r));
    names.emplace_back("customer-" + std::to_string(r));
    prices.emplace_back(std::to_string(r % 100000) + "." + std::to_string(10 + r % 90));
    ratios.emplace_back(static_cast<double>(r) / 7.0);
    stamps.emplace_back("2026-11-27 12:34:56.789000");
    flags.emplace_back(r % 2 == 0);
  }
  json::object data;
  data["numRows"] = rows;
  data["data"] = json::array{ids, names, prices, ratios, stamps, flags};
  json::object response{{"status", "ok"}, {"responseData", data}};

  exasol::result_set shape;
  auto add = [&](const char* name, const char* type, int precision, int scale) {
    exasol::column c;
    c.name = name;
    c.type = type;
    c.precision = precision;
    c.scale = scale;
    shape.columns.push_back(c);
  };
  add("ID", "DECIMAL", 18, 0);
  add("NAME", "VARCHAR", 0, 0);
  add("PRICE", "DECIMAL", 12, 2);
  add("RATIO", "DOUBLE", 0, 0);
  add("CREATED", "TIMESTAMP", 0, 0);
  add("ACTIVE", "BOOLEAN", 0, 0);
  shape.data.resize(shape.columns.size());
  shape.total_rows = rows;
  return {json::serialize(response), shape};
}

void parse_throughput(std::size_t rows, exapool::bench::csv_rows& csv) {
  auto [text, shape] = make_fetch_response(rows);
  int repetitions = 0;
  double seconds = 0;
  while (seconds < 2.0 || repetitions < 3) {
    exasol::result_set into = shape;
    auto start = clock_type::now();
    auto chunk = exasol::response::parse_fetch_into(text, into);
    seconds += elapsed_s(start);
    ++repetitions;
    if (chunk.rows != rows || into.row_count() != rows) {
      std::cerr << "parse returned " << chunk.rows << " rows, expected " << rows << "\n";
      return;
    }
  }
  double mb = static_cast<double>(text.size()) / 1e6;
  csv.add("W", "parse", "cpp_client", 1, "throughput", mb * repetitions / seconds, "MB/s");
  csv.add("W", "parse", "cpp_client", 1, "rows_per_s",
          static_cast<double>(rows) * repetitions / seconds, "rows/s");
  std::printf("\nparse of a %zu-row fetch response (6 columns, %.1f MB of JSON):\n", rows, mb);
  std::printf("  %.1f MB/s, %.0f rows/s (mean of %d parses)\n", mb * repetitions / seconds,
              static_cast<double>(rows) * repetitions / seconds, repetitions);
}

int run(const bench_config& cfg, exapool::bench::csv_rows& csv) {
  exasim::server_options sim;
  sim.threads = 1; // one core for the server, one for the client
  exasim::server server(sim);
  server.start();

  std::printf("SELECT 1 round trips per second, one connection, exasim on loopback (%.0f s each)\n",
              cfg.seconds);
  std::map<std::string, double> cpp{{"ws", cpp_round_trips(server, false, cfg.seconds)},
                                    {"wss", cpp_round_trips(server, true, cfg.seconds)}};
  auto ts = !cfg.skip_ts_driver ? ts_round_trips(server, cfg) : std::map<std::string, double>{};
  std::printf("  %-5s %14s %14s %10s\n", "mode", "C++ client", "TS driver", "C++ / TS");
  for (const char* mode : {"ws", "wss"}) {
    double ts_rate = ts.count(mode) ? ts[mode] : 0.0;
    csv.add("W", std::string("select1_") + mode, "cpp_client", 1, "rt_per_s", cpp[mode],
            "round_trips/s");
    if (ts_rate > 0)
      csv.add("W", std::string("select1_") + mode, "ts_driver", 1, "rt_per_s", ts_rate,
              "round_trips/s");
    std::printf("  %-5s %14.0f %14.0f %10s\n", mode, cpp[mode], ts_rate,
                ts_rate > 0 ? (std::to_string(cpp[mode] / ts_rate).substr(0, 4) + "x").c_str()
                            : "n/a");
  }
  server.stop();
  parse_throughput(cfg.rows, csv);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  return exapool::bench::bench_main<bench_config>(argc, argv, run);
}
