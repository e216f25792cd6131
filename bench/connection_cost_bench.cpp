// B2, connection cost (issue 4): what a unit of work pays to get a usable session. Opening a
// connection (TCP + WebSocket + TLS + RSA login) over ws and wss, next to borrowing one from a
// warm exapool pool, against exasim with a login latency of 0 and of the seed's ~1 s. Issue 9:
// an unmodified client's connect + login through a warm exapool proxy (transaction mode, a
// fresh RSA key per connection as `exapool proxy` uses by default) in front of the same exasim.
// Prints figures; asserts nothing.
//
//   build/bench/connection_cost_bench [--bench.opens=20] [--bench.borrows=20000]
//                                     [--bench.seed-latency=1s] [--bench.csv=<file>]
// CSV rows (bench/README.md):
//   B2,login_<latency>ms,open_ws|open_wss|borrow_exapool|proxy_ws|proxy_wss,1,latency,..,us
#include "actors/runtime.hpp"
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "proxy/proxy.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace {

using clock_type = std::chrono::steady_clock;

struct bench_config : caf::actor_system_config {
  std::size_t opens = 20;
  std::size_t borrows = 20000;
  caf::timespan seed_latency = std::chrono::seconds(1);
  std::string csv;

  bench_config() {
    opt_group{custom_options_, "bench"}
        .add(opens, "opens", "connections opened per mode and latency")
        .add(borrows, "borrows", "borrow + give_back cycles from the warm pool")
        .add(seed_latency, "seed-latency", "the login latency that models a real Exasol")
        .add(csv, "csv", "append the figures as CSV rows to this file (bench/README.md)");
  }
};

double micros_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

// Mean microseconds to open (and log in) one connection to `dsn` (ws: host:port; wss: with the
// fingerprint); each is disconnected after.
double mean_open_us(const std::string& dsn, bool tls, std::size_t n) {
  exasol::connection_options opts;
  opts.dsn = dsn;
  opts.tls = tls;
  opts.user = "sys";
  opts.password = "exasol";
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto t0 = clock_type::now();
    exasol::connection conn(opts);
    total += micros_since(t0);
    conn.disconnect();
  }
  return total / static_cast<double>(n);
}

// Mean microseconds of one borrow (until the lease arrives) from a prewarmed pool, as a
// non-actor caller sees it through a scoped_actor; the lease goes straight back.
double mean_borrow_us(const exasim::server& sim, std::size_t n) {
  exapool::runtime_config config;
  config.pool.max_size = 2;
  config.scheduler_threads = 2; // stack notes: fewer polling workers, faster blocking calls
  exapool::runtime rt{config};
  exapool::credentials creds;
  creds.dsn = sim.dsn();
  creds.user = "sys";
  creds.password.value = "exasol";
  rt.prewarm(creds, 2);
  caf::scoped_actor self{rt.system()};
  exapool::pool_actor pool;
  self->request(rt.supervisor(), std::chrono::seconds(30), exapool::pool_atom::value, creds)
      .receive([&](exapool::pool_actor& p) { pool = p; },
               [](caf::error& err) { std::cerr << "no pool: " << to_string(err) << "\n"; });
  double total = 0;
  std::size_t done = 0;
  for (std::size_t i = 0; i < n && pool; ++i) {
    auto t0 = clock_type::now();
    self->request(pool, std::chrono::seconds(30), exapool::borrow_atom::value)
        .receive(
            [&](exapool::lease& l) {
              total += micros_since(t0);
              ++done;
              self->send(pool, exapool::give_back_atom::value, l.id);
            },
            [](caf::error& err) { std::cerr << "borrow failed: " << to_string(err) << "\n"; });
  }
  rt.shutdown();
  return done > 0 ? total / static_cast<double>(done) : 0.0;
}

std::string ws_dsn(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

struct proxy_opens {
  double ws = 0, wss = 0;
};

// Mean connect + login through a warm exapool proxy in front of `sim`: one client logs in
// first, so the pool holds a connection of the credentials and vouches for them.
proxy_opens mean_open_via_proxy_us(const exasim::server& sim, std::size_t n) {
  exapool::runtime_config config;
  config.pool.max_size = 2;
  config.scheduler_threads = 2;
  exapool::runtime rt{config};
  exapool::proxy::proxy_options options;
  options.upstream.dsn = sim.dsn();
  exapool::proxy::proxy front(rt, options);
  front.start();
  mean_open_us(ws_dsn(front.port()), false, 1); // warms the pool
  proxy_opens out;
  out.ws = mean_open_us(ws_dsn(front.port()), false, n);
  out.wss = mean_open_us(front.dsn(), true, n);
  front.stop();
  rt.shutdown();
  return out;
}

int run(const bench_config& cfg, exapool::bench::csv_rows& csv) {
  std::printf("getting a usable Exasol session, exasim on loopback (mean over %zu opens, %zu "
              "borrows)\n",
              cfg.opens, cfg.borrows);
  std::printf("  %-14s %14s %14s %20s %12s %16s %16s\n", "login latency", "open ws", "open wss",
              "borrow (warm pool)", "wss/borrow", "via proxy ws", "via proxy wss");
  auto seed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.seed_latency);
  for (auto latency : {std::chrono::milliseconds(0), seed_ms}) {
    exasim::server_options opts;
    opts.login_latency = latency;
    exasim::server sim(opts);
    sim.start();
    std::size_t opens = latency.count() > 0 ? std::min<std::size_t>(cfg.opens, 5) : cfg.opens;
    double ws = mean_open_us(ws_dsn(sim.port()), false, opens);
    double wss = mean_open_us(sim.dsn(), true, opens);
    double borrow = mean_borrow_us(sim, cfg.borrows);
    auto via_proxy = mean_open_via_proxy_us(sim, cfg.opens);
    auto workload = "login_" + std::to_string(latency.count()) + "ms";
    csv.add("B2", workload, "open_ws", 1, "latency", ws, "us");
    csv.add("B2", workload, "open_wss", 1, "latency", wss, "us");
    csv.add("B2", workload, "borrow_exapool", 1, "latency", borrow, "us");
    csv.add("B2", workload, "proxy_ws", 1, "latency", via_proxy.ws, "us");
    csv.add("B2", workload, "proxy_wss", 1, "latency", via_proxy.wss, "us");
    std::printf("  %11lld ms %11.0f us %11.0f us %17.1f us %11.0fx %13.0f us %13.0f us\n",
                static_cast<long long>(latency.count()), ws, wss, borrow,
                borrow > 0 ? wss / borrow : 0.0, via_proxy.ws, via_proxy.wss);
    sim.stop();
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  return exapool::bench::bench_main<bench_config>(argc, argv, run);
}
