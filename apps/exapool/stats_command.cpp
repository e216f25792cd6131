// `exapool stats`: the pool counters of a running service (or `exapool demo`) that embeds the
// runtime with its admin endpoint on (exapool.admin-port). Reads them over CAF's network layer
// from the endpoint and prints one block per pool, or the endpoint's JSON with --stats.json.
#include "actors/admin_client.hpp"
#include "actors/runtime.hpp"
#include "apps/exapool/command.hpp"
#include "apps/exapool/options.hpp"
#include "integration/http/metrics_server.hpp"
#include "messages/stats_json.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>

namespace exapool::cli {
namespace {

struct stats_config : caf::actor_system_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool json = false;
  bool http = false;
  caf::timespan timeout = std::chrono::seconds(5);

  stats_config() {
    opt_group{custom_options_, "stats"}
        .add(host, "host",
             "host of the service's admin endpoint, its exapool.admin-host (default 127.0.0.1)")
        .add(port, "port", "the service's admin port, its exapool.admin-port (required)")
        .add(http, "http",
             "read the service's metrics endpoint over HTTP instead (GET /stats; host and port "
             "are then its exapool.metrics-host and exapool.metrics-port)")
        .add(json, "json",
             "print the endpoint's JSON instead of the table (every pool_stats field by name; "
             "wait times in whole microseconds, *_us)")
        .add(timeout, "timeout",
             "longest wait to connect, and again for the answer (default 5s; e.g. 500ms)");
    runtime::configure(*this);
    load<caf::io::middleman>();
  }

  // CAF 0.17's --help lists only its global options; this one lists the command's own.
  void print_help(std::ostream& out) const {
    out << "usage: exapool stats --stats.port=<port> [--stats.host=<host>] [--stats.json]\n"
           "                     [--stats.http] [--stats.timeout=<span>]\n\n"
           "Prints the pool counters of a running service that embeds the exapool runtime with\n"
           "its admin endpoint on (--exapool.admin-port=<port>, or admin-port=<port> under\n"
           "[exapool] in caf-application.ini; `exapool demo` takes the same option). One block\n"
           "per pool: connections now, borrow and session counters, validation and upkeep,\n"
           "borrow wait p50/p99/max in ms and the last connect error. With --stats.http it reads\n"
           "the HTTP metrics endpoint (--exapool.metrics-port) instead: GET /stats, the same\n"
           "JSON. Exit code 0 on success,\n"
           "1 when the endpoint cannot be read, 2 for a usage error.\n\noptions:\n";
    print_own_options(*this, out);
    out << "\n--long-help lists CAF's own options as well.\n";
  }
};

double ms(caf::timespan span) {
  return std::chrono::duration<double, std::milli>(span).count();
}

unsigned long long n(std::uint64_t value) {
  return static_cast<unsigned long long>(value);
}

void print_pool(const pool_stats& s, std::size_t index, std::size_t count) {
  // The name is the label unless exapool.pool-name set one: then both are shown.
  std::string who = s.label.empty() ? "(no label)" : s.label;
  if (!s.name.empty() && s.name != s.label)
    who = s.name + " (" + who + ")";
  std::printf("pool %zu of %zu: %s  (key %.12s)\n", index, count, who.c_str(), s.key.hex.c_str());
  std::printf("  connections   %llu of max %llu: leased %llu, idle %llu, opening %llu\n",
              n(s.total), n(s.max_size), n(s.leased), n(s.idle), n(s.opening));
  if (s.clients > 0) // a pool of exapool proxy: its clients, as pgbouncer's SHOW POOLS
    std::printf(
        "  proxy clients %llu connected: active %llu (holding a connection), waiting %llu\n",
        n(s.clients), n(s.leased), n(s.waiting));
  std::printf("  borrows       borrowed %llu, returned %llu, waiting now %llu, timed out %llu\n",
              n(s.borrowed), n(s.returned), n(s.waiting), n(s.timed_out_borrows));
  std::printf("  sessions      opened %llu, closed %llu, connect failures %llu\n", n(s.opened),
              n(s.closed), n(s.connect_failures));
  std::printf("  upkeep        validated %llu (invalid %llu), evicted %llu, reclaimed %llu, "
              "resets %llu\n",
              n(s.validated), n(s.invalid), n(s.evicted), n(s.reclaimed), n(s.resets));
  std::printf("  borrow wait   p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", ms(s.wait_p50),
              ms(s.wait_p99), ms(s.wait_max));
  std::printf("  last connect error: %s\n",
              s.last_connect_error.empty() ? "none" : s.last_connect_error.c_str());
}

void print_table(const std::vector<pool_stats>& pools, const std::string& where) {
  if (pools.empty()) {
    std::printf("no pools at %s yet (a pool starts with its first borrow or prewarm)\n",
                where.c_str());
    return;
  }
  for (std::size_t i = 0; i < pools.size(); ++i) {
    if (i > 0)
      std::printf("\n");
    print_pool(pools[i], i + 1, pools.size());
  }
}

} // namespace

int run_stats(int argc, char** argv) {
  stats_config cfg;
  if (asks_for_help(argc, argv)) {
    cfg.print_help(std::cout);
    return 0;
  }
  if (auto code = parse_options(cfg, argc, argv))
    return *code;
  if (cfg.port == 0) {
    std::cerr << "error: --stats.port is required: the admin port the service listens on "
                 "(its --exapool.admin-port), or with --stats.http its metrics port "
                 "(--exapool.metrics-port); see --help\n";
    return 2;
  }
  if (cfg.host.empty() || cfg.timeout.count() <= 0) {
    std::cerr << "error: --stats.host must not be empty and --stats.timeout must be positive\n";
    return 2;
  }
  try {
    std::string text;
    if (cfg.http) {
      auto answer =
          http::http_get(cfg.host, cfg.port, "/stats",
                         std::chrono::duration_cast<std::chrono::milliseconds>(cfg.timeout));
      if (answer.status != 200)
        throw std::runtime_error("GET http://" + cfg.host + ":" + std::to_string(cfg.port) +
                                 "/stats answered " + std::to_string(answer.status) +
                                 " (is it the metrics port, exapool.metrics-port?)");
      text = std::move(answer.body);
    } else {
      caf::actor_system sys{cfg};
      text = fetch_stats_json(sys, cfg.host, cfg.port, cfg.timeout);
    }
    if (cfg.json)
      std::printf("%s\n", text.c_str());
    else
      print_table(stats_from_json(text), cfg.host + ":" + std::to_string(cfg.port));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

} // namespace exapool::cli
