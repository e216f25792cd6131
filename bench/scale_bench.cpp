// B5, scale (issue 10): what N pooled connections (1,000 by default) cost the process that pools
// them. Every real connection is an event-based actor over the asynchronous client, whose I/O
// runs on the runtime's I/O threads, so the thread count must not grow with the connections:
// issue 10's target is "threads with 1,000 pooled connections <= scheduler threads + I/O threads
// + 4" (the 4 covers the main thread, CAF's clock and printer and Asio's resolver thread). The
// program counts the process's threads (entries of /proc/self/task) and its resident memory
// (VmRSS) before any connection, after prewarming all N connections and after N concurrent
// SELECT 1 through session actors; memory per pooled connection = (VmRSS after prewarm - VmRSS
// before) / N. It prints a table and the target's verdict and appends CSV rows (--bench.csv).
// Asserts nothing about the figures; exits 1 when a connection or a statement failed.
//
// Against a running exasim (--bench.dsn, as bench/run_suite.sh runs it) the figures are the
// client's alone. Without a DSN exasim runs in-process: the memory then includes the server's
// side of every session (variant exapool_with_exasim), and exasim's own threads are left out of
// the target's count (they are counted when it starts, before the runtime exists).
//
//   build/bench/scale_bench [--bench.connections=1000] [--bench.dsn=host:port
//       [--bench.fingerprint=F] [--bench.nocertcheck]] [--bench.wss] [--bench.csv=FILE]
// The runtime attaches to an actor system made from this program's options (CAF's settings
// apply, e.g. --scheduler.max-threads=2); the I/O threads are 1.
#include "actors/runtime.hpp"
#include "apps/exapool/options.hpp"
#include "bench/bench_csv.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/dsn.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t io_threads = 1;
// Threads of the process beyond the scheduler's and the I/O threads that issue 10 allows.
constexpr std::size_t thread_allowance = 4;

struct bench_config : caf::actor_system_config {
  std::size_t connections = 1000;
  std::string dsn;
  std::string fingerprint;
  bool nocertcheck = false;
  bool wss = false;
  std::string user = "sys";
  std::string csv;

  bench_config() {
    opt_group{custom_options_, "bench"}
        .add(connections, "connections", "pooled connections to open (the pool's size)")
        .add(dsn, "dsn", "host:port of a running exasim or Exasol (default: exasim in-process)")
        .add(fingerprint, "fingerprint", "certificate SHA-256 to pin with --bench.wss")
        .add(nocertcheck, "nocertcheck", "wss without certificate checks")
        .add(wss, "wss", "TLS (wss) instead of plain ws")
        .add(user, "user", "user name (password from EXAPOOL_PASSWORD, default exasol)")
        .add(csv, "csv", "append CSV rows to this file");
  }
};

// --- what the process costs -------------------------------------------------------------------

// The process's threads, and how many of them carry each name (/proc/self/task/*/comm), so the
// output shows which threads the count is made of.
struct thread_census {
  std::size_t total = 0;
  std::map<std::string, std::size_t> by_name;
};

thread_census count_threads() {
  thread_census census;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    ++census.total;
    ++census.by_name[name.empty() ? "?" : name];
  }
  return census;
}

std::string names_of(const thread_census& census) {
  std::string out;
  for (const auto& [name, count] : census.by_name)
    out += (out.empty() ? "" : ", ") + name + (count > 1 ? " x" + std::to_string(count) : "");
  return out;
}

// The process's resident memory in bytes (VmRSS of /proc/self/status), 0 when unreadable.
std::uint64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

struct snapshot {
  thread_census threads;
  std::uint64_t rss = 0;
};

snapshot take_snapshot() {
  return {count_threads(), resident_bytes()};
}

long long ms_since(clock_type::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
}

// --- the server -------------------------------------------------------------------------------

// host:port and a fingerprint into the DSN the client takes ("host/fingerprint:port").
std::string dsn_with_fingerprint(const std::string& dsn, const std::string& fingerprint) {
  if (fingerprint.empty())
    return dsn;
  auto colon = dsn.rfind(':');
  if (colon == std::string::npos)
    return dsn + "/" + fingerprint;
  return dsn.substr(0, colon) + "/" + fingerprint + dsn.substr(colon);
}

// exasim in-process for N sessions at once: no session limit, one RSA key for all sessions
// (1,000 fresh keys would make the prewarm measure exasim's key generation), and a login
// timeout long enough for N logins arriving together on a shared machine.
std::unique_ptr<exasim::server> start_exasim() {
  exasim::server_options so;
  so.threads = 2;
  so.max_sessions = 0;
  so.fresh_rsa_key_per_session = false;
  so.login_timeout = std::chrono::minutes(2);
  auto sim = std::make_unique<exasim::server>(so);
  sim->start();
  return sim;
}

exapool::credentials credentials_of(const bench_config& cfg, const exasim::server* sim) {
  exapool::credentials creds;
  creds.user = cfg.user;
  creds.password.value = exapool::cli::env_or("EXAPOOL_PASSWORD", "exasol");
  creds.tls = cfg.wss;
  creds.insecure = cfg.nocertcheck;
  creds.client_name = "exapool-b5";
  if (sim)
    creds.dsn = cfg.wss ? sim->dsn() : "127.0.0.1:" + std::to_string(sim->port());
  else
    creds.dsn = cfg.wss ? dsn_with_fingerprint(cfg.dsn, cfg.fingerprint) : cfg.dsn;
  exasol::parse_dsn(creds.dsn, creds.tls); // a bad DSN is named now, not N times
  return creds;
}

// --- the measurement --------------------------------------------------------------------------

struct measured {
  std::size_t n = 0;
  std::size_t scheduler_threads = 0;
  std::size_t sim_threads = 0;     // exasim's, when in-process (left out of the target's count)
  std::size_t detached_actors = 0; // each a thread of its own (CAF's printer is one)
  snapshot before, prewarmed, after_statements;
  long long prewarm_ms = 0, statements_ms = 0;
  std::size_t opened = 0, answered = 0;
  std::string first_failure;

  std::size_t thread_limit() const { return scheduler_threads + io_threads + thread_allowance; }
  // The threads of the client side (none when the snapshot was not taken).
  std::size_t counted(const snapshot& s) const {
    return s.threads.total > sim_threads ? s.threads.total - sim_threads : 0;
  }
  double rss_per_connection() const {
    auto grown = prewarmed.rss > before.rss ? prewarmed.rss - before.rss : 0;
    return n > 0 ? static_cast<double>(grown) / static_cast<double>(n) : 0.0;
  }
  bool failed() const { return opened != n || answered != n; }
};

// N statements at once, one per session actor: every request is sent before the first answer
// is awaited, so all N connections are leased together. The scoped actor ends with this
// function (the actor system waits for it otherwise).
void run_statements(exapool::runtime& rt, const exapool::credentials& creds, measured& m) {
  constexpr auto guard = std::chrono::seconds(120);
  caf::scoped_actor self{rt.system()};
  std::vector<exapool::session_actor> sessions;
  for (std::size_t i = 0; i < m.n; ++i)
    sessions.push_back(rt.spawn_session(creds));
  using pending_request =
      decltype(self->request(sessions.front(), guard, exapool::query_atom::value, std::string{}));
  std::vector<pending_request> pending;
  auto start = clock_type::now();
  for (auto& session : sessions)
    pending.push_back(
        self->request(session, guard, exapool::query_atom::value, std::string("SELECT 1")));
  for (auto& request : pending)
    request.receive(
        [&](exasol::result_set& rows) {
          if (rows.row_count() == 1)
            ++m.answered;
          else if (m.first_failure.empty())
            m.first_failure = "SELECT 1 returned " + std::to_string(rows.row_count()) + " rows";
        },
        [&](caf::error& err) {
          if (m.first_failure.empty())
            m.first_failure = self->system().render(err);
        });
  m.statements_ms = ms_since(start);
  m.after_statements = take_snapshot();
  for (auto& session : sessions)
    self->send_exit(session, caf::exit_reason::user_shutdown);
}

void measure(exapool::runtime& rt, const exapool::credentials& creds, measured& m) {
  // "Before" is taken with the runtime (and its I/O thread) running: what the connections add.
  m.before = take_snapshot();
  auto start = clock_type::now();
  auto report = rt.prewarm(creds, m.n);
  m.prewarm_ms = ms_since(start);
  if (!report.failures.empty())
    m.first_failure = "prewarm: " + report.failures.front();
  auto stats = rt.stats(creds);
  m.opened = stats.opened;
  m.prewarmed = take_snapshot();
  if (stats.opened != m.n || stats.total != m.n) {
    if (m.first_failure.empty())
      m.first_failure = "the pool opened " + std::to_string(stats.opened) + " connections, holds " +
                        std::to_string(stats.total) + ", of " + std::to_string(m.n);
    return; // not N connections: no statement round to speak of
  }
  run_statements(rt, creds, m);
}

// --- output -----------------------------------------------------------------------------------

void print_header(const bench_config& cfg, const exasim::server* sim, const measured& m) {
  std::string where = sim ? "exasim in-process on 127.0.0.1:" + std::to_string(sim->port())
                          : "server at " + cfg.dsn;
  std::printf("B5 scale: %zu pooled connections to %s over %s; %zu scheduler thread(s), %zu I/O "
              "thread(s)\n",
              m.n, where.c_str(), cfg.wss ? "wss (TLS)" : "plain ws", m.scheduler_threads,
              io_threads);
  // CAF 0.17 names its scheduler workers "caf.multiplexer" and detached actors "caf.actor";
  // Asio's threads (I/O, resolver) keep the program's name.
  std::printf("  thread names: caf.multiplexer = scheduler worker, caf.clock = CAF's timer, "
              "caf.actor = a detached actor (%zu running: CAF's printer); the I/O thread and "
              "Asio's resolver (from the first connection) carry the program's name\n",
              m.detached_actors);
  if (sim)
    std::printf("  exasim runs IN THIS PROCESS: memory includes the server's side of every "
                "session; its %zu threads are left out of the thread counts below (give "
                "--bench.dsn for the client alone)\n",
                m.sim_threads);
  else
    std::printf("  the client's figures alone (the server runs in another process)\n");
  std::fflush(stdout);
}

void print_row(const char* when, std::size_t connections, const measured& m, const snapshot& s) {
  std::printf("  %-28s %12zu %8zu %10.1f   %s\n", when, connections, m.counted(s),
              static_cast<double>(s.rss) / (1024.0 * 1024.0), names_of(s.threads).c_str());
}

void print_table(const measured& m) {
  std::printf("  %-28s %12s %8s %10s   %s\n", "when", "connections", "threads", "VmRSS MiB",
              "threads by name");
  print_row("before any connection", 0, m, m.before);
  print_row("after prewarm", m.opened, m, m.prewarmed);
  if (m.answered > 0)
    print_row("after N concurrent SELECT 1", m.n, m, m.after_statements);
  auto per = m.rss_per_connection();
  std::printf("  memory per pooled connection: %.0f bytes (%.1f KB); prewarm of %zu in %lld ms; "
              "%zu concurrent SELECT 1 in %lld ms\n",
              per, per / 1024.0, m.n, m.prewarm_ms, m.answered, m.statements_ms);
  // The larger of the two counts with N connections: idle in the pool, and all leased at once.
  auto threads = std::max(m.counted(m.prewarmed), m.counted(m.after_statements));
  std::printf("  target (issue 10) threads with %zu pooled connections <= scheduler threads + "
              "I/O threads + %zu = %zu -> %zu (%s)\n",
              m.n, thread_allowance, m.thread_limit(), threads,
              threads <= m.thread_limit() && !m.failed() ? "met" : "missed");
  std::fflush(stdout);
}

void append_csv(exapool::bench::csv_rows& csv, const std::string& variant, const measured& m) {
  auto add = [&](const char* workload, std::size_t sessions, const char* metric, double value,
                 const char* unit) {
    csv.add("B5", workload, variant, sessions, metric, value, unit);
  };
  auto threads = [&](const snapshot& s) { return static_cast<double>(m.counted(s)); };
  add("pooled", 0, "threads", threads(m.before), "count");
  add("pooled", m.n, "threads", threads(m.prewarmed), "count");
  if (m.answered > 0)
    add("select1", m.n, "threads", threads(m.after_statements), "count");
  add("pooled", m.n, "thread_limit", static_cast<double>(m.thread_limit()), "count");
  add("pooled", m.n, "scheduler_threads", static_cast<double>(m.scheduler_threads), "count");
  add("pooled", m.n, "io_threads", static_cast<double>(io_threads), "count");
  add("pooled", m.n, "rss_bytes_per_connection", m.rss_per_connection(), "bytes");
  add("pooled", m.n, "prewarm_ms", static_cast<double>(m.prewarm_ms), "ms");
  if (m.answered > 0)
    add("select1", m.n, "statements_ms", static_cast<double>(m.statements_ms), "ms");
}

int run(bench_config& cfg) {
  if (cfg.connections == 0 || cfg.connections > exapool::max_pool_size) {
    std::cerr << "bench.connections: " << cfg.connections << " is not from 1 to "
              << exapool::max_pool_size << " (the pool's largest size)\n";
    return 2;
  }
  measured m;
  m.n = cfg.connections;
  // Each connection is a socket here, and in-process exasim's end another one.
  auto wanted = 2 * m.n + 512;
  if (auto got = exapool::cli::raise_open_files_limit(wanted); got < wanted)
    std::cerr << "warning: open files limited to " << got << " (wanted " << wanted
              << "): connections may fail\n";
  exapool::bench::csv_rows csv(cfg.csv); // fails now, before any measurement, when unwritable

  auto threads_before_sim = count_threads().total;
  auto sim = cfg.dsn.empty() ? start_exasim() : nullptr;
  m.sim_threads = count_threads().total - threads_before_sim;
  exapool::credentials creds;
  try {
    creds = credentials_of(cfg, sim.get());
  } catch (const std::exception& e) {
    std::cerr << "bench.dsn: " << e.what() << "\n";
    return 2;
  }

  caf::actor_system sys{cfg};
  // The scheduler's workers as the system really started them (the runtime's default sets
  // scheduler.max-threads=1; --scheduler.max-threads overrides it).
  m.scheduler_threads = sys.scheduler().num_workers();
  m.detached_actors = sys.detached_actors();
  exapool::runtime_config config;
  config.pool.max_size = m.n;
  config.pool.acquire_timeout = std::chrono::seconds(120);
  // Freshly opened connections: no SELECT 1 check before each statement of the round.
  config.pool.validation_bypass = std::chrono::minutes(5);
  config.io_threads = io_threads;
  print_header(cfg, sim.get(), m);
  {
    exapool::runtime rt{sys, config};
    measure(rt, creds, m);
    rt.shutdown();
  }
  print_table(m);
  append_csv(csv, sim ? "exapool_with_exasim" : "exapool", m);
  if (sim)
    sim->stop();
  if (m.failed())
    std::cerr << "scale_bench: " << m.opened << " of " << m.n << " connections opened, "
              << m.answered << " of " << m.n
              << " statements answered; first failure: " << m.first_failure << "\n";
  return m.failed() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  bench_config cfg;
  exapool::runtime::configure(cfg); // exapool's errors rendered by name, one scheduler thread
  if (auto code = exapool::cli::parse_options(cfg, argc, argv))
    return *code;
  try {
    return run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "scale_bench: " << e.what() << "\n";
    return 1;
  }
}
