// R1, remote sessions against local ones (issue 11): the same workload, in one run, against one
// exasim and one pool node:
//   local   N session actors in the pool node's own process
//   remote  N session actors in another process (this program again, --bench.role=service),
//           whose runtime borrows through the pool node over CAF's middleman on loopback
// Each session is driven by a thread of its own looping request(session, SELECT 1) for
// --bench.seconds after a warm-up statement; qps is statements over the window, p50/p99 the
// per-statement latency seen by the caller. Prints a table with remote/local ratios and appends
// CSV rows (--bench.csv). Asserts nothing about the figures; exits 1 when a statement failed.
//
//   build/bench/remote_bench [--bench.sessions=1,8,32] [--bench.seconds=2]
//       [--bench.pool-size=8] [--bench.csv=FILE]
#include "actors/runtime.hpp"
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "bench/bench_threads.hpp"
#include "integration/exasim/server.hpp"
#include "tests/support/child_process.hpp"

#include <caf/all.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

namespace {

using exapool::bench::clock_type;
using exapool::bench::start_line;
using exapool::bench::thread_tally;

struct bench_config : caf::actor_system_config {
  std::string sessions = "1,8,32";
  double seconds = 2.0;
  std::size_t pool_size = 8;
  std::string csv;
  std::string role; // empty: the pool node and the driver; "service": the remote side
  std::string pool_node;
  std::string dsn;
  bench_config() {
    opt_group{custom_options_, "bench"}
        .add(sessions, "sessions", "comma-separated session counts, one case each")
        .add(seconds, "seconds", "measured seconds of each variant in each case")
        .add(pool_size, "pool-size", "the pool node's pool size")
        .add(csv, "csv", "append CSV rows to this file")
        .add(role, "role", "internal: 'service' runs the remote side")
        .add(pool_node, "pool-node", "internal: the pool node's host:port")
        .add(dsn, "dsn", "internal: exasim's host:port");
  }
};

struct figures {
  std::size_t queries = 0, errors = 0;
  double qps = 0, p50_ms = 0, p99_ms = 0;
  std::string first_error;
};

exapool::credentials sim_credentials(const std::string& dsn) {
  exapool::credentials c;
  c.dsn = dsn;
  c.tls = false;
  c.user = "sys";
  c.password.value = "exasol";
  c.client_name = "remote_bench";
  return c;
}

// N threads, each with a session of `rt`, SELECT 1 in a loop for `seconds`.
figures run_sessions(exapool::runtime& rt, const exapool::credentials& creds, std::size_t n,
                     double seconds) {
  std::vector<thread_tally> tallies(n);
  start_line line(n);
  auto window = std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto& tally = tallies[i];
      auto session = rt.spawn_session(creds);
      caf::scoped_actor self{rt.system()};
      auto once = [&](bool timed) {
        auto begin = clock_type::now();
        self->request(session, std::chrono::seconds(60), exapool::query_atom::value,
                      std::string("SELECT 1"))
            .receive(
                [&](exasol::result_set&) {
                  if (!timed)
                    return;
                  ++tally.queries;
                  tally.latencies_us.push_back(
                      std::chrono::duration<double, std::micro>(clock_type::now() - begin).count());
                },
                [&](caf::error& err) { tally.fail(rt.system().render(err)); });
      };
      once(false); // warm-up: the pool lookup, a connection
      line.ready_and_wait();
      while (clock_type::now() - line.start() < window)
        once(true);
      self->send_exit(session, caf::exit_reason::user_shutdown);
    });
  auto start = line.start_when_ready();
  for (auto& t : threads)
    t.join();
  double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  figures out;
  std::vector<double> all;
  for (auto& t : tallies) {
    out.queries += t.queries;
    out.errors += t.errors;
    if (out.first_error.empty())
      out.first_error = t.first_error;
    all.insert(all.end(), t.latencies_us.begin(), t.latencies_us.end());
  }
  out.qps = static_cast<double>(out.queries) / elapsed;
  out.p50_ms = exapool::bench::percentile_ms(all, 0.50);
  out.p99_ms = exapool::bench::percentile_ms(all, 0.99);
  return out;
}

// The remote side: prints "figures <queries> <errors> <qps> <p50> <p99>" (and the first error).
int run_service(const bench_config& cfg) {
  exapool::runtime_config config;
  config.pool_node = cfg.pool_node;
  exapool::runtime rt{config};
  auto n = static_cast<std::size_t>(std::stoul(cfg.sessions));
  auto f = run_sessions(rt, sim_credentials(cfg.dsn), n, cfg.seconds);
  std::cout << "figures " << f.queries << ' ' << f.errors << ' ' << f.qps << ' ' << f.p50_ms << ' '
            << f.p99_ms << std::endl;
  if (!f.first_error.empty())
    std::cout << "error " << f.first_error << std::endl;
  return 0;
}

figures run_remote(const std::string& node, const std::string& dsn, std::size_t n, double seconds) {
  char self_path[4096];
  auto len = ::readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  if (len <= 0)
    throw std::runtime_error("cannot find this executable");
  exapool::testing::child_process child{
      std::string(self_path, static_cast<std::size_t>(len)),
      {"--bench.role=service", "--bench.pool-node=" + node, "--bench.dsn=" + dsn,
       "--bench.sessions=" + std::to_string(n), "--bench.seconds=" + std::to_string(seconds)}};
  auto line = child.await_line("figures ");
  if (!line)
    throw std::runtime_error("the remote side printed no figures");
  figures f;
  std::istringstream in(*line);
  in >> f.queries >> f.errors >> f.qps >> f.p50_ms >> f.p99_ms;
  if (f.errors > 0)
    f.first_error = child.await_line("error ").value_or("");
  if (!child.exited_ok())
    throw std::runtime_error("the remote side failed");
  return f;
}

std::vector<std::size_t> parse_counts(const std::string& text) {
  std::vector<std::size_t> counts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (ec != std::errc() || end != part.data() + part.size() || n == 0 || n > 1000)
      throw std::runtime_error("bench.sessions: '" + part + "' is not a count from 1 to 1000");
    counts.push_back(n);
  }
  return counts;
}

int run_driver(const bench_config& cfg, exapool::bench::csv_rows& csv) {
  auto counts = parse_counts(cfg.sessions);
  exasim::server_options so;
  so.fresh_rsa_key_per_session = false;
  exasim::server sim{so};
  sim.start();
  auto dsn = "127.0.0.1:" + std::to_string(sim.port());
  exapool::runtime_config config;
  config.pool.max_size = cfg.pool_size;
  config.remote_port = 0;
  exapool::runtime rt{config};
  auto creds = sim_credentials(dsn);
  rt.prewarm(creds, cfg.pool_size);
  auto node = "127.0.0.1:" + std::to_string(rt.remote_port());
  std::printf("R1 remote sessions, SELECT 1, pool of %zu, %.1f s per variant\n", cfg.pool_size,
              cfg.seconds);
  std::printf("%8s | %10s %8s %8s | %10s %8s %8s | %8s %8s\n", "sessions", "local q/s", "p50 ms",
              "p99 ms", "remote q/s", "p50 ms", "p99 ms", "q/s r/l", "p99 r/l");
  bool failed = false;
  for (auto n : counts) {
    auto local = run_sessions(rt, creds, n, cfg.seconds);
    auto remote = run_remote(node, dsn, n, cfg.seconds);
    std::printf("%8zu | %10.0f %8.3f %8.3f | %10.0f %8.3f %8.3f | %8.2f %8.2f\n", n, local.qps,
                local.p50_ms, local.p99_ms, remote.qps, remote.p50_ms, remote.p99_ms,
                remote.qps / local.qps, remote.p99_ms / local.p99_ms);
    for (auto [variant, f] : {std::pair{"local", &local}, std::pair{"remote", &remote}}) {
      csv.add("R1", "select1", variant, n, "queries_per_s", f->qps, "1/s");
      csv.add("R1", "select1", variant, n, "p50", f->p50_ms, "ms");
      csv.add("R1", "select1", variant, n, "p99", f->p99_ms, "ms");
      if (f->errors > 0) {
        failed = true;
        std::printf("  %s: %zu statements failed, first: %s\n", variant, f->errors,
                    f->first_error.c_str());
      }
    }
  }
  rt.shutdown();
  return failed ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  return exapool::bench::bench_main<bench_config>(
      argc, argv, [](bench_config& cfg, exapool::bench::csv_rows& csv) {
        return cfg.role == "service" ? run_service(cfg) : run_driver(cfg, csv);
      });
}
