// P1, exapool proxy's overhead (issue 9), measured the way bench/peers/pgbouncer_bench.sh
// measures pgbouncer's: N clients, each a thread with its own exasol::connection logged in once,
// run `SELECT 1` back to back for a fixed time, first directly against exasim, then through
// exapool proxy (transaction mode, pool of 8) in front of the same exasim. Everything runs in
// this process, on loopback, over plain ws (pgbench talks plain TCP too); --bench.wss puts TLS
// on both hops. Per client count it prints queries per second, p50 and p99 latency of each
// phase, the ratio proxy / direct, and how many sessions exasim saw opened in each phase (through
// the proxy at most the pool's size: more fails the run, it is the proxy's promise, not a
// timing), and the process's CPU time and context switches per query while the clients loop
// (client, exasim and proxy share the process, so the difference is the proxy's). Asserts
// nothing about the figures; exits 1 when a query failed.
//
//   build/bench/proxy_bench [--bench.clients=1,8,32,128] [--bench.seconds=10]
//       [--bench.wss] [--bench.proxy-threads=2] [--bench.sim-threads=2] [--bench.csv=FILE]
//       [--exapool.max-size=8] [--exapool.*] [CAF's options, e.g. --scheduler.max-threads=2]
// The proxy is set up as `exapool proxy --proxy.mode=transaction --proxy.shared-rsa-key
// --exapool.max-size=8` is (the same option defaults: one CAF scheduler thread), and exasim
// shares one RSA key between its sessions, so logins by the hundred cost no key generation.
// A fresh runtime and proxy serve each client count, so each phase's session count is its own.
//
// CSV rows (bench/README.md), beside pgbouncer_bench.sh's P1,select_pk,postgres|pgbouncer,...:
//   P1,select1,exasim|exapool_proxy,<clients>,qps|p50_ms|p99_ms|sessions_opened,<value>,<unit>
//   P1,select1,exasim|exapool_proxy,<clients>,cpu_us_per_query|context_switches_per_query,...
//   P1,select1,exapool_proxy,<clients>,ratio_vs_direct,<value>,x
#include "actors/runtime.hpp"
#include "actors/runtime_options.hpp"
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "bench/bench_threads.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "proxy/proxy.hpp"

#include <caf/all.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using exapool::bench::start_line;
using exapool::bench::thread_tally;
using namespace std::chrono_literals;

struct bench_config : exapool::runtime_system_config {
  std::string clients = "1,8,32,128";
  double seconds = 10.0;
  bool wss = false;
  int proxy_threads = 2;
  int sim_threads = 2;
  std::string csv;

  bench_config() {
    pool.max_size = 8; // --exapool.max-size overrides it
    opt_group{custom_options_, "bench"}
        .add(clients, "clients", "comma-separated client counts, one case each")
        .add(seconds, "seconds", "measured seconds of each phase (direct, proxy) per case")
        .add(wss, "wss", "TLS (wss) on every hop instead of plain ws")
        .add(proxy_threads, "proxy-threads", "the proxy's I/O threads (as --proxy.threads)")
        .add(sim_threads, "sim-threads", "exasim's I/O threads")
        .add(csv, "csv", "append CSV rows to this file (bench/README.md)");
  }
};

std::optional<std::vector<std::size_t>> parse_clients(const std::string& text) {
  std::vector<std::size_t> counts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (ec != std::errc() || end != part.data() + part.size() || n == 0 || n > 10000) {
      std::cerr << "bench.clients: '" << part << "' is not a client count from 1 to 10000\n";
      return std::nullopt;
    }
    counts.push_back(n);
  }
  if (counts.empty()) {
    std::cerr << "bench.clients: no client count given\n";
    return std::nullopt;
  }
  return counts;
}

// --- one phase: N client threads looping SELECT 1 on their own connections --------------------

struct measured {
  std::size_t queries = 0, errors = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  std::string first_error;
  // The whole process's CPU time and context switches while the clients loop: client threads,
  // exasim and (through the proxy) the proxy and its pool, all in this process.
  double cpu_seconds = 0;
  std::uint64_t context_switches = 0;

  double qps() const { return seconds > 0 ? static_cast<double>(queries) / seconds : 0.0; }
  double per_query(double total) const {
    return queries > 0 ? total / static_cast<double>(queries) : 0.0;
  }
  double percentile_ms(double p) { return exapool::bench::percentile_ms(latencies_us, p); }
};

struct usage {
  double cpu_seconds = 0;
  std::uint64_t context_switches = 0;
};

usage process_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return {seconds(ru.ru_utime) + seconds(ru.ru_stime),
          static_cast<std::uint64_t>(ru.ru_nvcsw + ru.ru_nivcsw)};
}

// One SELECT 1; a wrong answer counts as a failure, not as a fast query.
void select1(exasol::connection& conn, thread_tally& tally) {
  try {
    auto rs = conn.query("SELECT 1");
    if (rs.row_count() != 1)
      tally.fail("SELECT 1 returned " + std::to_string(rs.row_count()) + " rows");
  } catch (const std::exception& e) {
    tally.fail(e.what());
  }
}

// Each client logs in and runs one untimed SELECT 1 (through the proxy that makes the pool open
// its connections, as pgbouncer's first transactions do before pgbench's clock runs), then all
// loop SELECT 1 from the same instant for `seconds`, then disconnect.
measured run_clients(const exasol::connection_options& opts, std::size_t n, double seconds) {
  std::vector<thread_tally> tallies(n);
  start_line line(n);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto& tally = tallies[i];
      std::unique_ptr<exasol::connection> conn;
      try {
        conn = std::make_unique<exasol::connection>(opts);
        select1(*conn, tally);
      } catch (const std::exception& e) {
        tally.fail(std::string("login: ") + e.what());
      }
      bool usable = conn && tally.errors == 0;
      line.ready_and_wait();
      auto start = line.start();
      auto deadline = start + std::chrono::duration_cast<clock_type::duration>(
                                  std::chrono::duration<double>(seconds));
      while (usable && clock_type::now() < deadline) {
        auto t0 = clock_type::now();
        auto errors_before = tally.errors;
        select1(*conn, tally);
        if (tally.errors != errors_before)
          break; // a broken connection would fail fast and forever
        tally.latencies_us.push_back(
            std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        ++tally.queries;
      }
      try {
        if (conn && conn->is_open())
          conn->disconnect();
      } catch (const std::exception&) {
        // the measurement is over; a failed goodbye changes nothing in it
      }
    });
  auto start = line.start_when_ready();
  auto usage_before = process_usage();
  for (auto& t : threads)
    t.join();
  auto usage_after = process_usage();
  measured m;
  m.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  m.cpu_seconds = usage_after.cpu_seconds - usage_before.cpu_seconds;
  m.context_switches = usage_after.context_switches - usage_before.context_switches;
  for (auto& t : tallies) {
    m.queries += t.queries;
    m.errors += t.errors;
    m.latencies_us.insert(m.latencies_us.end(), t.latencies_us.begin(), t.latencies_us.end());
    if (m.first_error.empty())
      m.first_error = t.first_error;
  }
  return m;
}

exasol::connection_options client_options(const std::string& dsn, bool tls) {
  exasol::connection_options o;
  o.dsn = dsn;
  o.tls = tls;
  o.user = "sys";
  o.password = "exasol";
  o.connect_timeout = 30s;
  o.login_timeout = 60s;
  o.socket_timeout = 60s;
  o.identity.client_name = "exapool-p1";
  return o;
}

// --- the cases --------------------------------------------------------------------------------

struct phase {
  measured m;
  double p50 = 0, p99 = 0;
  std::uint64_t sessions = 0; // exasim sessions opened during the phase
};

phase finish(measured m, std::uint64_t sessions) {
  phase p;
  p.p50 = m.percentile_ms(0.50);
  p.p99 = m.percentile_ms(0.99);
  p.m = std::move(m);
  p.sessions = sessions;
  return p;
}

int run(bench_config& cfg) {
  auto counts = parse_clients(cfg.clients);
  if (!counts)
    return 2;
  if (!(cfg.seconds > 0)) {
    std::cerr << "bench.seconds: must be above 0\n";
    return 2;
  }
  if (cfg.proxy_threads < 1 || cfg.sim_threads < 1) {
    std::cerr << "bench.proxy-threads and bench.sim-threads: at least 1\n";
    return 2;
  }
  auto rt_config = cfg.to_runtime_config(); // names a bad --exapool.* option
  exapool::bench::csv_rows csv(cfg.csv);    // fails now, before any measurement, when unwritable

  exasim::server_options so;
  so.threads = cfg.sim_threads;
  so.fresh_rsa_key_per_session = false;
  exasim::server sim(so);
  sim.start();
  auto sim_dsn = cfg.wss ? sim.dsn() : "127.0.0.1:" + std::to_string(sim.port());
  auto pool_size = rt_config.pool.max_size;

  std::printf("P1 exapool proxy overhead: SELECT 1 from N clients (a thread and a connection "
              "each, logged in once), %.2f s per phase, over %s\n"
              "  direct: to exasim in-process on 127.0.0.1:%u; proxy: to exapool proxy "
              "(transaction mode, pool %zu, %d I/O threads) in front of the same exasim\n"
              "  ratio: proxy queries/s / direct queries/s; sessions: exasim sessions opened in "
              "the phase;\n"
              "  cpu_us/q, cs/q: this process's CPU time (us) and context switches per query "
              "while the clients loop (clients, exasim and the proxy all run in it)\n",
              cfg.seconds, cfg.wss ? "wss (TLS) on every hop" : "plain ws",
              static_cast<unsigned>(sim.port()), pool_size, cfg.proxy_threads);
  std::printf("%8s %12s %12s %7s %10s %10s %10s %10s %9s %9s %8s %8s %7s %7s\n", "clients",
              "direct_qps", "proxy_qps", "ratio", "direct_p50", "proxy_p50", "direct_p99",
              "proxy_p99", "sessions", "sessions", "cpu_us/q", "cpu_us/q", "cs/q", "cs/q");
  std::printf("%8s %12s %12s %7s %10s %10s %10s %10s %9s %9s %8s %8s %7s %7s\n", "", "", "", "",
              "ms", "ms", "ms", "ms", "direct", "proxy", "direct", "proxy", "direct", "proxy");
  std::fflush(stdout);

  caf::actor_system sys{cfg};
  int status = 0;
  for (auto n : *counts) {
    auto opened_before = sim.stats().sessions_opened;
    auto direct_m = run_clients(client_options(sim_dsn, cfg.wss), n, cfg.seconds);
    auto direct = finish(std::move(direct_m), sim.stats().sessions_opened - opened_before);

    opened_before = sim.stats().sessions_opened;
    phase via;
    {
      exapool::runtime rt{sys, rt_config};
      exapool::proxy::proxy_options po;
      po.threads = cfg.proxy_threads;
      po.mode = exapool::proxy_mode::transaction;
      po.fresh_rsa_key = false;
      po.upstream.dsn = sim_dsn;
      po.upstream.tls = cfg.wss;
      exapool::proxy::proxy px(rt, po);
      px.start();
      auto proxy_dsn = cfg.wss ? px.dsn() : "127.0.0.1:" + std::to_string(px.port());
      auto m = run_clients(client_options(proxy_dsn, cfg.wss), n, cfg.seconds);
      px.stop();
      rt.shutdown();
      via = finish(std::move(m), sim.stats().sessions_opened - opened_before);
    }

    double ratio = direct.m.qps() > 0 ? via.m.qps() / direct.m.qps() : 0.0;
    std::printf(
        "%8zu %12.0f %12.0f %6.2fx %10.3f %10.3f %10.3f %10.3f %9llu %9llu %8.1f %8.1f %7.2f "
        "%7.2f\n",
        n, direct.m.qps(), via.m.qps(), ratio, direct.p50, via.p50, direct.p99, via.p99,
        static_cast<unsigned long long>(direct.sessions),
        static_cast<unsigned long long>(via.sessions),
        1e6 * direct.m.per_query(direct.m.cpu_seconds), 1e6 * via.m.per_query(via.m.cpu_seconds),
        direct.m.per_query(static_cast<double>(direct.m.context_switches)),
        via.m.per_query(static_cast<double>(via.m.context_switches)));
    std::fflush(stdout);
    for (auto [variant, p] : {std::pair{"exasim", &direct}, std::pair{"exapool_proxy", &via}}) {
      csv.add("P1", "select1", variant, n, "qps", p->m.qps(), "queries/s");
      csv.add("P1", "select1", variant, n, "p50_ms", p->p50, "ms");
      csv.add("P1", "select1", variant, n, "p99_ms", p->p99, "ms");
      csv.add("P1", "select1", variant, n, "sessions_opened", static_cast<double>(p->sessions),
              "count");
      csv.add("P1", "select1", variant, n, "cpu_us_per_query",
              1e6 * p->m.per_query(p->m.cpu_seconds), "us");
      csv.add("P1", "select1", variant, n, "context_switches_per_query",
              p->m.per_query(static_cast<double>(p->m.context_switches)), "count");
    }
    csv.add("P1", "select1", "exapool_proxy", n, "ratio_vs_direct", ratio, "x");

    for (auto [name, p] : {std::pair{"direct", &direct}, std::pair{"proxy", &via}})
      if (p->m.errors > 0) {
        std::cerr << name << ", " << n << " clients: " << p->m.errors
                  << " failed queries, first: " << p->m.first_error << "\n";
        status = 1;
      }
    if (via.sessions > pool_size) {
      std::cerr << "proxy, " << n << " clients: exasim saw " << via.sessions
                << " sessions opened, more than the pool's " << pool_size << "\n";
      status = 1;
    }
  }
  sim.stop();
  return status;
}

} // namespace

int main(int argc, char** argv) {
  bench_config cfg;
  if (auto code = exapool::cli::parse_options(cfg, argc, argv))
    return *code;
  try {
    return run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "proxy_bench: " << e.what() << "\n";
    return 1;
  }
}
