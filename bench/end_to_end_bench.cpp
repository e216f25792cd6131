// B1, end-to-end throughput and latency (issue 4): sessions running queries through exapool next
// to the alternatives, side by side in one process and one run, against one exasim:
//   exapool          the runtime, pool prewarmed to the pool size; N session actors, each driven
//                    by an event-based actor looping request(session, query).then(...)
//   no_pool          N threads; every query connects, runs, disconnects (the seed's "before")
//   lock_seed        N threads over the lock-based pool ported from the seed (SELECT 1 on
//                    every reuse, under its global lock; checked-out connections unbounded)
//   lock_tuned       N threads over the lock-based pool with exapool's validation policy
//                    (bounded by the pool size, FIFO handoff, SELECT 1 only after 500 ms idle)
//   physical_limit   N raw client connections, one per thread, looping round trips, no pool:
//                    the issue's "physical limit" (it may use N server sessions)
//   physical_limit_8 min(N, pool size) raw connections looping: the ceiling of any pool of that
//                    size (only that many queries can be on the wire at once)
// Workloads: select1 (SELECT 1) and rows1000 (all 1,000 rows of a table made at start, the same
// shape as the TypeScript peer's: id DECIMAL(9,0) 1..1000, label VARCHAR(20) 'row-<id>').
// Prints a table per case with ratios against exapool and appends CSV rows (--bench.csv).
// Asserts nothing about the figures; exits 1 when a query failed.
// cpu_us_per_query: this process's CPU time (getrusage RUSAGE_SELF, user + system, every thread)
// over a variant's measured window divided by the statements it completed: the client's cost per
// statement, which queries/s hides when client and server share the cores. It is the client's
// alone only with --bench.dsn (exasim in another process; bench/run_suite.sh pins it to its own
// core). With the in-process exasim it includes exasim's work, and the table says so.
//
//   build/bench/end_to_end_bench [--bench.sessions=1,8,32,128] [--bench.seconds=3]
//       [--bench.queries=0] [--bench.pool-size=8] [--bench.workloads=select1,rows1000]
//       [--bench.variants=...] [--bench.dsn=host:port [--bench.fingerprint=F]
//       [--bench.nocertcheck]] [--bench.wss] [--bench.csv=FILE]
// exapool runs on one actor system made from this program's options, so CAF's own settings
// apply to it (e.g. --scheduler.max-threads=2, --work-stealing.moderate-poll-attempts=0).
#include "actors/connection_actor.hpp"
#include "actors/runtime.hpp"
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "bench/bench_threads.hpp"
#include "bench/peers/lock_pool.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "integration/exasol/dsn.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using exapool::bench::lock_pool;
using exapool::bench::lock_pool_config;
using exapool::bench::lock_pool_policy;
using exapool::bench::start_line;
using exapool::bench::thread_tally;

constexpr const char* rows_table = "B1_ROWS1000";
constexpr std::size_t rows_in_table = 1000;
const std::vector<std::string> all_variants = {"exapool",    "no_pool",        "lock_seed",
                                               "lock_tuned", "physical_limit", "physical_limit_8"};

struct bench_config : caf::actor_system_config {
  std::string sessions = "1,8,32,128";
  double seconds = 3.0;
  std::size_t queries = 0;
  std::size_t pool_size = 8;
  std::string workloads = "select1,rows1000";
  std::string variants = "exapool,no_pool,lock_seed,lock_tuned,physical_limit,physical_limit_8";
  std::string dsn;
  std::string fingerprint;
  bool nocertcheck = false;
  bool wss = false;
  std::string user = "sys";
  std::string csv;
  std::size_t scheduler_threads = 0;

  bench_config() {
    opt_group{custom_options_, "bench"}
        .add(sessions, "sessions", "comma-separated session counts, one case each")
        .add(seconds, "seconds", "duration of each variant in each case")
        .add(queries, "queries", "queries per session instead of a duration (0: use seconds)")
        .add(pool_size, "pool-size", "exapool's and the lock pools' size")
        .add(workloads, "workloads", "comma-separated: select1, rows1000")
        .add(variants, "variants", "comma-separated subset of: " + join(all_variants))
        .add(dsn, "dsn", "host:port of a running exasim or Exasol (default: exasim in-process)")
        .add(fingerprint, "fingerprint", "certificate SHA-256 to pin with --bench.wss")
        .add(nocertcheck, "nocertcheck", "wss without certificate checks")
        .add(wss, "wss", "TLS (wss) instead of plain ws")
        .add(user, "user", "user name (password from EXAPOOL_PASSWORD, default exasol)")
        .add(csv, "csv", "append CSV rows to this file")
        .add(scheduler_threads, "scheduler-threads",
             "CAF scheduler threads (0: the runtime's default, 1)");
  }

  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts)
      out += (out.empty() ? "" : ", ") + p;
    return out;
  }
};

// --- parsing the lists ----------------------------------------------------------------------

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty())
      parts.push_back(part);
  return parts;
}

std::optional<std::vector<std::size_t>> parse_sessions(const std::string& text) {
  std::vector<std::size_t> counts;
  for (const auto& part : split(text)) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (ec != std::errc() || end != part.data() + part.size() || n == 0 || n > 100000) {
      std::cerr << "bench.sessions: '" << part << "' is not a session count from 1 to 100000\n";
      return std::nullopt;
    }
    counts.push_back(n);
  }
  if (counts.empty())
    std::cerr << "bench.sessions: no session count given\n";
  return counts.empty() ? std::nullopt : std::optional(counts);
}

std::optional<std::vector<std::string>> parse_names(const char* option, const std::string& text,
                                                    const std::vector<std::string>& allowed) {
  auto names = split(text);
  for (const auto& name : names)
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::cerr << option << ": unknown '" << name << "' (one of " << bench_config::join(allowed)
                << ")\n";
      return std::nullopt;
    }
  if (names.empty())
    std::cerr << option << ": nothing given\n";
  return names.empty() ? std::nullopt : std::optional(names);
}

// --- what one variant measured ----------------------------------------------------------------

struct measured {
  std::string variant;
  std::size_t queries = 0, errors = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  std::uint64_t connections = 0;
  std::optional<std::uint64_t> validations; // pools only
  std::string first_error;
  double cpu_us = 0; // process CPU time over the measured window

  double qps() const { return seconds > 0 ? static_cast<double>(queries) / seconds : 0.0; }
  double cpu_us_per_query() const {
    return queries > 0 ? cpu_us / static_cast<double>(queries) : 0.0;
  }
  double percentile_ms(double p) { return exapool::bench::percentile_ms(latencies_us, p); }
};

// When a session stops: after `seconds`, or after `queries` of its own.
struct plan {
  double seconds = 3.0;
  std::size_t queries = 0;
};

struct workload {
  std::string name;
  std::string sql;
  std::size_t expected_rows;
};

double micros_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

// Checks one result against the workload: a wrong row count is an error, not a fast query.
std::string check_rows(const exasol::result_set& rs, const workload& w) {
  if (rs.row_count() == w.expected_rows)
    return {};
  return "expected " + std::to_string(w.expected_rows) + " rows, got " +
         std::to_string(rs.row_count());
}

// --- thread-based variants ------------------------------------------------------------------

// Runs `threads` workers: each calls setup(tally) (untimed), then one_query(tally) until the plan
// says stop, recording each query's latency, then teardown(tally).
struct thread_worker {
  std::function<void(thread_tally&)> setup = [](thread_tally&) {};
  std::function<void(thread_tally&)> one_query;
  std::function<void(thread_tally&)> teardown = [](thread_tally&) {};
};

measured run_threads(const std::string& variant, std::size_t threads, const plan& p,
                     const std::function<thread_worker()>& make_worker) {
  std::vector<thread_tally> tallies(threads);
  start_line line(threads);
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < threads; ++i)
    pool.emplace_back([&, i, worker = make_worker()] {
      auto& tally = tallies[i];
      worker.setup(tally);
      bool usable = tally.errors == 0; // a failed setup (no connection) runs no queries
      line.ready_and_wait();
      auto deadline = line.start() + std::chrono::duration<double>(p.seconds);
      for (std::size_t n = 0;
           usable && (p.queries > 0 ? n < p.queries : clock_type::now() < deadline); ++n) {
        auto t0 = clock_type::now();
        auto errors_before = tally.errors;
        worker.one_query(tally);
        if (tally.errors == errors_before) {
          tally.latencies_us.push_back(micros_since(t0));
          ++tally.queries;
        }
      }
      worker.teardown(tally);
    });
  auto start = line.start_when_ready();
  auto cpu_start = exapool::bench::process_cpu_us(); // after every worker's untimed setup
  for (auto& t : pool)
    t.join();
  measured m;
  m.variant = variant;
  m.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  m.cpu_us = exapool::bench::process_cpu_us() - cpu_start;
  for (auto& t : tallies) {
    m.queries += t.queries;
    m.errors += t.errors;
    m.connections += t.connections;
    m.latencies_us.insert(m.latencies_us.end(), t.latencies_us.begin(), t.latencies_us.end());
    if (m.first_error.empty())
      m.first_error = t.first_error;
  }
  return m;
}

// One query on `conn`, counted as failed when it throws or returns the wrong rows.
void query_on(exasol::connection& conn, const workload& w, thread_tally& tally) {
  try {
    auto why = check_rows(conn.query(w.sql), w);
    if (!why.empty())
      tally.fail(why);
  } catch (const std::exception& e) {
    tally.fail(e.what());
  }
}

measured run_no_pool(const exasol::connection_options& opts, const workload& w, std::size_t n,
                     const plan& p) {
  return run_threads("no_pool", n, p, [&] {
    thread_worker worker;
    worker.one_query = [&](thread_tally& tally) {
      try {
        exasol::connection conn(opts);
        ++tally.connections;
        query_on(conn, w, tally);
        conn.disconnect();
      } catch (const std::exception& e) {
        tally.fail(e.what());
      }
    };
    return worker;
  });
}

// N raw connections (one per thread), each looping round trips with no pool in between.
measured run_physical(const std::string& variant, const exasol::connection_options& opts,
                      const workload& w, std::size_t n, const plan& p) {
  return run_threads(variant, n, p, [&] {
    auto conn = std::make_shared<std::unique_ptr<exasol::connection>>();
    thread_worker worker;
    worker.setup = [&opts, conn](thread_tally& tally) {
      try {
        *conn = std::make_unique<exasol::connection>(opts);
        ++tally.connections;
      } catch (const std::exception& e) {
        tally.fail(e.what());
      }
    };
    worker.one_query = [&w, conn](thread_tally& tally) {
      if (*conn)
        query_on(**conn, w, tally);
      else
        tally.fail("not connected");
    };
    worker.teardown = [conn](thread_tally&) {
      if (*conn && (*conn)->is_open())
        (*conn)->disconnect();
    };
    return worker;
  });
}

measured run_lock_pool(lock_pool_policy policy, const exasol::connection_options& opts,
                       const workload& w, std::size_t n, const plan& p, std::size_t pool_size) {
  lock_pool_config config;
  config.policy = policy;
  config.max_size = pool_size;
  lock_pool pool(opts, config);
  pool.prewarm(pool_size); // the seed's initialize_pool(size); tuned: the same warm start
  auto variant = std::string("lock_") + exapool::bench::to_string(policy);
  auto m = run_threads(variant, n, p, [&] {
    thread_worker worker;
    worker.one_query = [&](thread_tally& tally) {
      try {
        auto lease = pool.acquire();
        query_on(*lease, w, tally);
      } catch (const std::exception& e) {
        tally.fail(e.what());
      }
    };
    return worker;
  });
  auto counters = pool.counters();
  m.connections = counters.opened;
  m.validations = counters.validations;
  return m;
}

// --- exapool: session actors driven by event-based actors -----------------------------------

using go_atom = caf::atom_constant<caf::atom("go")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

struct driver_tally {
  std::vector<double> latencies_us;
  std::size_t errors = 0;
  std::string first_error;
};

// Loops request(session, query).then(...) until the plan says stop, then reports its tally.
// The loop's step holds itself only weakly; the behavior holds it until the actor quits.
caf::behavior driver(caf::event_based_actor* self, exapool::session_actor session, workload w,
                     plan p, caf::actor report_to) {
  using step_fn = std::function<void(std::size_t)>;
  auto tally = std::make_shared<driver_tally>();
  auto step = std::make_shared<step_fn>();
  auto deadline = std::make_shared<clock_type::time_point>();
  std::weak_ptr<step_fn> weak_step = step;
  auto continue_with = [weak_step](std::size_t done) {
    if (auto s = weak_step.lock())
      (*s)(done);
  };
  *step = [=](std::size_t done) {
    if (p.queries > 0 ? done >= p.queries : clock_type::now() >= *deadline) {
      self->send(report_to, done_atom::value, std::move(tally->latencies_us), tally->errors,
                 tally->first_error);
      self->send_exit(session, caf::exit_reason::user_shutdown);
      self->quit();
      return;
    }
    auto t0 = clock_type::now();
    self->request(session, std::chrono::seconds(60), exapool::query_atom::value, w.sql)
        .then(
            [=](exasol::result_set& rs) {
              auto why = check_rows(rs, w);
              if (why.empty())
                tally->latencies_us.push_back(micros_since(t0));
              else if (tally->errors++ == 0)
                tally->first_error = why;
              continue_with(done + 1);
            },
            [=](caf::error& err) {
              if (tally->errors++ == 0)
                tally->first_error = self->system().render(err);
              continue_with(done + 1);
            });
  };
  // The start as steady-clock ticks: every driver's deadline is the same instant.
  return {[=](go_atom, std::int64_t start_ticks) {
    auto start = clock_type::time_point(clock_type::duration(start_ticks));
    *deadline = start + std::chrono::duration_cast<clock_type::duration>(
                            std::chrono::duration<double>(p.seconds));
    (*step)(0);
  }};
}

// A fresh runtime (supervisor, pool) per case, attached to the program's actor system.
measured run_exapool(caf::actor_system& sys, const exapool::credentials& creds, const workload& w,
                     std::size_t n, const plan& p, const bench_config& cfg) {
  exapool::runtime_config config;
  config.pool.max_size = cfg.pool_size;
  exapool::runtime rt{sys, config};
  measured m;
  m.variant = "exapool";
  auto warm = rt.prewarm(creds, cfg.pool_size);
  for (const auto& why : warm.failures)
    if (m.errors++ == 0)
      m.first_error = "prewarm: " + why;
  caf::scoped_actor self{rt.system()};
  std::vector<caf::actor> drivers;
  for (std::size_t i = 0; i < n; ++i)
    drivers.push_back(
        self->spawn(driver, rt.spawn_session(creds), w, p, caf::actor_cast<caf::actor>(self)));
  auto start = clock_type::now();
  auto cpu_start = exapool::bench::process_cpu_us(); // prewarm and spawning are untimed
  for (auto& d : drivers)
    self->send(d, go_atom::value, static_cast<std::int64_t>(start.time_since_epoch().count()));
  for (std::size_t i = 0; i < n; ++i)
    self->receive([&](done_atom, std::vector<double>& latencies, std::size_t errors,
                      std::string& first_error) {
      m.queries += latencies.size();
      m.latencies_us.insert(m.latencies_us.end(), latencies.begin(), latencies.end());
      m.errors += errors;
      if (m.first_error.empty())
        m.first_error = first_error;
    });
  m.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  m.cpu_us = exapool::bench::process_cpu_us() - cpu_start;
  auto stats = rt.stats(creds);
  m.connections = stats.opened;
  m.validations = stats.validated;
  rt.shutdown();
  return m;
}

// --- the server and the table ---------------------------------------------------------------

// host:port and a fingerprint into the DSN the client takes ("host/fingerprint:port").
std::string dsn_with_fingerprint(const std::string& dsn, const std::string& fingerprint) {
  if (fingerprint.empty())
    return dsn;
  auto colon = dsn.rfind(':');
  if (colon == std::string::npos)
    return dsn + "/" + fingerprint;
  return dsn.substr(0, colon) + "/" + fingerprint + dsn.substr(colon);
}

void create_rows_table(const exasol::connection_options& opts) {
  exasol::connection conn(opts);
  conn.execute(std::string("DROP TABLE IF EXISTS ") + rows_table);
  conn.execute(std::string("CREATE TABLE ") + rows_table + " (id DECIMAL(9,0), label VARCHAR(20))");
  auto insert = conn.prepare(std::string("INSERT INTO ") + rows_table + " VALUES (?, ?)");
  std::vector<std::vector<exasol::value>> rows;
  for (std::size_t i = 1; i <= rows_in_table; ++i)
    rows.push_back({static_cast<std::int64_t>(i), "row-" + std::to_string(i)});
  conn.execute_prepared(insert, rows);
  conn.close_prepared(insert);
  conn.disconnect();
}

workload workload_named(const std::string& name) {
  if (name == "rows1000")
    return {name, std::string("SELECT id, label FROM ") + rows_table, rows_in_table};
  return {name, "SELECT 1", 1};
}

// --- output ---------------------------------------------------------------------------------

struct row {
  std::string variant;
  double qps, p50, p99;
  std::uint64_t connections;
  std::optional<std::uint64_t> validations;
  std::size_t errors;
  double cpu_us_per_query;
};

void print_case(const workload& w, std::size_t sessions, std::vector<row>& rows) {
  double exapool_qps = 0;
  for (const auto& r : rows)
    if (r.variant == "exapool")
      exapool_qps = r.qps;
  std::printf("\nB1 %s, %zu sessions\n", w.name.c_str(), sessions);
  std::printf("  %-17s %11s %9s %9s %9s %12s %12s %7s %13s\n", "variant", "queries/s", "cpu us/q",
              "p50 ms", "p99 ms", "connections", "validations", "errors", "exapool/this");
  for (const auto& r : rows) {
    std::string validations = r.validations ? std::to_string(*r.validations) : "-";
    std::string ratio = "-";
    if (exapool_qps > 0 && r.qps > 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2fx", exapool_qps / r.qps);
      ratio = buf;
    }
    std::printf("  %-17s %11.1f %9.1f %9.3f %9.3f %12llu %12s %7zu %13s\n", r.variant.c_str(),
                r.qps, r.cpu_us_per_query, r.p50, r.p99,
                static_cast<unsigned long long>(r.connections), validations.c_str(), r.errors,
                ratio.c_str());
  }
  std::fflush(stdout);
}

void append_csv(exapool::bench::csv_rows& csv, const workload& w, std::size_t sessions,
                const std::vector<row>& rows) {
  for (const auto& r : rows) {
    csv.add("B1", w.name, r.variant, sessions, "qps", r.qps, "queries/s");
    csv.add("B1", w.name, r.variant, sessions, "p50_latency", r.p50, "ms");
    csv.add("B1", w.name, r.variant, sessions, "p99_latency", r.p99, "ms");
    csv.add("B1", w.name, r.variant, sessions, "connections", static_cast<double>(r.connections),
            "count");
    csv.add("B1", w.name, r.variant, sessions, "cpu_us_per_query", r.cpu_us_per_query, "us");
  }
}

// The issues' targets, as measured (never asserted). Issue 4, at 32 sessions: exapool's
// queries/s >= 0.9x lock_tuned's and >= 0.8x physical_limit_8's. Issue 10, against the raw
// connections (physical_limit): select1 >= 0.9x at 1 and 8 sessions, >= 0.95x at 32 and 128;
// rows1000 >= 0.95x at every count; and at 32 sessions exapool's client CPU per SELECT 1
// <= 1.2x theirs. The targets against the TypeScript ExasolPool need its separate program's
// figures: bench/plots/report.js reads them from the suite's CSV.
void print_targets(const std::string& workload_name, std::size_t sessions,
                   const std::vector<row>& rows) {
  auto find = [&](const char* v) -> const row* {
    for (const auto& r : rows)
      if (r.variant == v)
        return &r;
    return nullptr;
  };
  const row* ours = find("exapool");
  if (!ours || ours->qps <= 0)
    return;
  auto qps_target = [&](const char* variant, double target, const char* issue) {
    const row* theirs = find(variant);
    if (!theirs || theirs->qps <= 0)
      return;
    double ratio = ours->qps / theirs->qps;
    std::printf("  target (%s) %s: exapool queries/s >= %.2fx %s -> %.2fx (%s)\n", issue,
                workload_name.c_str(), target, variant, ratio, ratio >= target ? "met" : "missed");
  };
  if (sessions == 32) {
    qps_target("lock_tuned", 0.9, "issue 4");
    qps_target("physical_limit_8", 0.8, "issue 4");
  }
  if (workload_name == "rows1000")
    qps_target("physical_limit", 0.95, "issue 10");
  else if (sessions == 1 || sessions == 8)
    qps_target("physical_limit", 0.9, "issue 10");
  else if (sessions == 32 || sessions == 128)
    qps_target("physical_limit", 0.95, "issue 10");
  const row* raw = find("physical_limit");
  if (workload_name == "select1" && sessions == 32 && raw && raw->cpu_us_per_query > 0 &&
      ours->cpu_us_per_query > 0) {
    double ratio = ours->cpu_us_per_query / raw->cpu_us_per_query;
    std::printf("  target (issue 10) select1: exapool cpu us/q <= 1.20x physical_limit's -> "
                "%.2fx (%s)\n",
                ratio, ratio <= 1.2 ? "met" : "missed");
  }
  std::fflush(stdout);
}

int run(bench_config& cfg) {
  auto sessions = parse_sessions(cfg.sessions);
  auto workloads = parse_names("bench.workloads", cfg.workloads, {"select1", "rows1000"});
  auto variants = parse_names("bench.variants", cfg.variants, all_variants);
  if (!sessions || !workloads || !variants)
    return 2;
  if (cfg.pool_size == 0 || cfg.pool_size > exapool::max_pool_size) {
    std::cerr << "bench.pool-size: " << cfg.pool_size << " is not from 1 to "
              << exapool::max_pool_size << "\n";
    return 2;
  }
  if (!(cfg.seconds > 0) && cfg.queries == 0) {
    std::cerr << "bench.seconds: must be above 0 (or give bench.queries)\n";
    return 2;
  }

  exapool::bench::csv_rows csv(cfg.csv); // fails now, before any measurement, when unwritable
  std::unique_ptr<exasim::server> sim;
  exapool::credentials creds;
  creds.user = cfg.user;
  creds.password.value = exapool::cli::env_or("EXAPOOL_PASSWORD", "exasol");
  creds.tls = cfg.wss;
  creds.insecure = cfg.nocertcheck;
  creds.client_name = "exapool-b1";
  std::string where;
  if (cfg.dsn.empty()) {
    exasim::server_options so;
    so.threads = 2;
    sim = std::make_unique<exasim::server>(so);
    sim->start();
    creds.dsn = "127.0.0.1:" + std::to_string(sim->port());
    if (cfg.wss)
      creds.dsn = sim->dsn();
    where = "exasim in-process on 127.0.0.1:" + std::to_string(sim->port());
  } else {
    creds.dsn = cfg.wss ? dsn_with_fingerprint(cfg.dsn, cfg.fingerprint) : cfg.dsn;
    if (!cfg.wss && (!cfg.fingerprint.empty() || cfg.nocertcheck))
      std::cerr << "note: bench.fingerprint and bench.nocertcheck apply to wss only (give "
                   "--bench.wss); plain ws is used\n";
    where = "server at " + cfg.dsn;
  }
  try {
    exasol::parse_dsn(creds.dsn, creds.tls); // a bad DSN is named now, not once per query
  } catch (const std::exception& e) {
    std::cerr << "bench.dsn: " << e.what() << "\n";
    return 2;
  }
  auto opts = exapool::connection_options_of(creds);

  plan p{cfg.seconds, cfg.queries};
  char length[64];
  if (cfg.queries > 0)
    std::snprintf(length, sizeof length, "%zu queries per session", cfg.queries);
  else
    std::snprintf(length, sizeof length, "%.2f s", cfg.seconds);
  std::printf("B1 end-to-end: %s over %s, pool size %zu, %s per variant\n", where.c_str(),
              cfg.wss ? "wss (TLS)" : "plain ws", cfg.pool_size, length);
  std::printf("  exapool: runtime, pool prewarmed to %zu, session actors driven by actors; "
              "no_pool: connect+query+disconnect per query;\n"
              "  lock_seed / lock_tuned: threads over a mutex+condvar pool of %zu (seed's design "
              "/ exapool's validation policy);\n"
              "  physical_limit: N raw connections looping, no pool (the issue's physical "
              "limit); physical_limit_8: min(N, %zu) raw connections (a pool of %zu's "
              "ceiling).\n"
              "  exapool/this: exapool's queries/s divided by the variant's.\n",
              cfg.pool_size, cfg.pool_size, cfg.pool_size, cfg.pool_size);
  std::printf("  cpu us/q: this process's CPU time (user + system, all threads) per query in "
              "the measured window%s.\n",
              sim ? "; INCLUDES the in-process exasim's work (give --bench.dsn for the client's "
                    "alone)"
                  : ", the client's alone (the server runs elsewhere)");

  // One actor system for every exapool case, made from this program's options: CAF's own
  // settings (--scheduler.policy, --work-stealing.*) apply to it.
  if (cfg.scheduler_threads > 0)
    cfg.set("scheduler.max-threads", cfg.scheduler_threads);
  std::unique_ptr<caf::actor_system> sys;
  if (std::find(variants->begin(), variants->end(), "exapool") != variants->end())
    sys = std::make_unique<caf::actor_system>(cfg);

  std::size_t failed_cases = 0;
  try {
    if (std::find(workloads->begin(), workloads->end(), "rows1000") != workloads->end())
      create_rows_table(opts);
  } catch (const std::exception& e) {
    std::cerr << "cannot create " << rows_table << ": " << e.what() << "\n";
    return 1;
  }
  for (const auto& wname : *workloads) {
    auto w = workload_named(wname);
    for (auto n : *sessions) {
      std::vector<row> rows;
      for (const auto& v : *variants) {
        measured m;
        if (v == "exapool")
          m = run_exapool(*sys, creds, w, n, p, cfg);
        else if (v == "no_pool")
          m = run_no_pool(opts, w, n, p);
        else if (v == "lock_seed")
          m = run_lock_pool(lock_pool_policy::seed, opts, w, n, p, cfg.pool_size);
        else if (v == "lock_tuned")
          m = run_lock_pool(lock_pool_policy::tuned, opts, w, n, p, cfg.pool_size);
        else if (v == "physical_limit")
          m = run_physical(v, opts, w, n, p);
        else
          m = run_physical(v, opts, w, std::min(n, cfg.pool_size), p);
        if (m.errors > 0) {
          ++failed_cases;
          std::cerr << v << " " << wname << " " << n << " sessions: " << m.errors
                    << " failed queries, first: " << m.first_error << "\n";
        }
        rows.push_back({v, m.qps(), m.percentile_ms(0.50), m.percentile_ms(0.99), m.connections,
                        m.validations, m.errors, m.cpu_us_per_query()});
      }
      print_case(w, n, rows);
      print_targets(wname, n, rows);
      append_csv(csv, w, n, rows);
    }
  }
  if (sim)
    sim->stop();
  return failed_cases > 0 ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  bench_config cfg;
  exapool::runtime::configure(cfg); // exapool's errors rendered by name
  if (auto code = exapool::cli::parse_options(cfg, argc, argv))
    return *code;
  try {
    return run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "end_to_end_bench: " << e.what() << "\n";
    return 1;
  }
}
