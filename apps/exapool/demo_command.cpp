// `exapool demo`: what the pool buys, on one screen. Runs a dbt-like workload (N sessions x M
// statements) twice against the same server: first the seed's "before" (a new connection per
// unit of work), then through exapool with a prewarmed pool, and prints both side by side.
// Without a DSN it starts exasim with a login latency modelled on the seed's measurement.
// With --exapool.admin-port=P, `exapool stats --stats.port=P` shows the pool while it runs.
#include "actors/runtime_options.hpp"
#include "apps/exapool/command.hpp"
#include "apps/exapool/demo_processes.hpp"
#include "apps/exapool/demo_progress.hpp"
#include "apps/exapool/options.hpp"
#include "integration/exasim/server.hpp"
#include "integration/exasol/connection.hpp"
#include "proxy/proxy.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

namespace exapool::cli {
namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

struct demo_config : runtime_system_config {
  std::string dsn; // read through credentials_from_config (configured_database)
  // The embedded exasim's user and password (a real Exasol's come from the configuration).
  std::string user = env_or("EXAPOOL_USER", "sys");
  std::string password = env_or("EXAPOOL_PASSWORD", "exasol");
  std::size_t sessions = 4;
  std::size_t statements = 24;
  caf::timespan login_latency = std::chrono::seconds(1);
  std::size_t processes = 40, parallel = 8;
  caf::timespan progress_interval{0};

  demo_config() {
    opt_group{custom_options_, "demo"}
        .add(dsn, "dsn",
             "a real Exasol, as exapool.dsn (env EXAPOOL_DSN); none: an embedded exasim")
        .add(user, "user", "user name (env EXAPOOL_USER; with a DSN: as exapool.user)")
        .add(sessions, "sessions", "concurrent sessions (the seed's dbt threads)")
        .add(statements, "statements", "statements per session")
        .add(login_latency, "login-latency", "embedded exasim's login latency (seed: ~1 s)")
        .add(processes, "processes",
             "client processes of the dbt-shaped case, direct and via exapool proxy (0: skip)")
        .add(parallel, "parallel", "how many of those processes run at a time")
        .add(progress_interval, "progress-interval",
             "progress on stderr this often (0: every 1s on a terminal, else every 5s)");
  }
};

// One statement of the workload: what a dbt model run sends, cheap for the server.
std::string statement_for(std::size_t session, std::size_t i) {
  if (i % 3 == 0)
    return "INSERT INTO exapool_demo_runs VALUES (" + std::to_string(session) + ", " +
           std::to_string(i) + ")";
  return "SELECT COUNT(*) FROM exapool_demo_runs WHERE session_no = " + std::to_string(session);
}

struct phase_result {
  std::string name;
  std::uint64_t connections = 0;     // opened by the client
  std::uint64_t server_sessions = 0; // seen by exasim (0 against a real Exasol)
  double wall_s = 0, connect_s = 0;
  std::vector<double> latencies_ms; // per statement, as the caller waited for it
  std::size_t failures = 0;
  std::string first_error;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5))];
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

progress_style progress_style_of(const demo_config& cfg) {
  return progress_style::for_stderr(duration_cast<milliseconds>(cfg.progress_interval));
}

// The no-pool phase connects as the pool would, under a name of its own in EXA_ALL_SESSIONS.
exasol::connection_options client_options(const credentials& creds) {
  auto opts = connection_options_of(creds);
  opts.identity.client_name = "exapool demo (no pool)";
  return opts;
}

// The seed's "before": every unit of work opens, logs in, runs one statement, disconnects.
phase_result run_without_pool(const credentials& creds, const demo_config& cfg) {
  phase_result r;
  r.name = "no pool";
  std::vector<phase_result> per_thread(cfg.sessions);
  // Shared with the progress reporter; each thread's own sums stay unshared.
  std::atomic<std::size_t> done{0};
  std::atomic<std::uint64_t> opened{0};
  progress_reporter progress{"no pool",
                             "statements",
                             "connections opened",
                             cfg.sessions * cfg.statements,
                             [&] {
                               return progress_counts{done.load(), opened.load()};
                             },
                             progress_style_of(cfg)};
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (std::size_t s = 0; s < cfg.sessions; ++s)
    threads.emplace_back([&, s] {
      auto& mine = per_thread[s];
      for (std::size_t i = 0; i < cfg.statements; ++i) {
        auto t0 = clock_type::now();
        try {
          exasol::connection conn(client_options(creds));
          mine.connect_s += seconds_since(t0);
          ++mine.connections;
          ++opened;
          conn.execute(statement_for(s, i));
          conn.disconnect();
        } catch (const exasol::error& e) {
          if (mine.failures++ == 0)
            mine.first_error = e.what();
        }
        mine.latencies_ms.push_back(seconds_since(t0) * 1e3);
        ++done;
      }
    });
  for (auto& t : threads)
    t.join();
  r.wall_s = seconds_since(start);
  for (const auto& m : per_thread) {
    r.connections += m.connections;
    r.connect_s += m.connect_s;
    r.failures += m.failures;
    r.latencies_ms.insert(r.latencies_ms.end(), m.latencies_ms.begin(), m.latencies_ms.end());
    if (r.first_error.empty())
      r.first_error = m.first_error;
  }
  return r;
}

using done_atom = caf::atom_constant<caf::atom("done")>;

// A session actor's unit of work in the pooled phase: its statements one after another. The
// progress lives in the actor's state and each reply starts the next statement through the
// actor's own pointer, so nothing refers to itself: when the worker quits, everything it held
// (the session handle among it) goes with it.
struct demo_worker_state {
  session_actor session;
  std::size_t no = 0, count = 0;
  caf::actor report_to;
  std::atomic<std::size_t>* done = nullptr; // statements of every worker, for the progress
  std::size_t next = 0, failures = 0;
  std::vector<double> latencies_ms;
  std::string first_error;
  static inline const char* name = "exapool.demo_worker";
};

using demo_worker_pointer = caf::stateful_actor<demo_worker_state>*;

void run_next(demo_worker_pointer self) {
  auto& st = self->state;
  if (st.next == st.count) {
    self->send(st.report_to, done_atom::value, st.latencies_ms, st.failures, st.first_error);
    self->send_exit(st.session, caf::exit_reason::user_shutdown);
    self->quit();
    return;
  }
  auto t0 = clock_type::now();
  auto record = [self, t0](const std::string& error) {
    auto& st = self->state;
    st.latencies_ms.push_back(seconds_since(t0) * 1e3);
    if (!error.empty() && st.failures++ == 0)
      st.first_error = error;
    ++st.next;
    ++*st.done;
    run_next(self);
  };
  self->request(st.session, std::chrono::minutes(2), execute_atom::value,
                statement_for(st.no, st.next))
      .then([record](query_result&) { record(""); },
            [self, record](caf::error& err) { record(self->system().render(err)); });
}

caf::behavior demo_worker(demo_worker_pointer self, session_actor session, std::size_t no,
                          std::size_t count, caf::actor report_to, std::atomic<std::size_t>* done) {
  auto& st = self->state;
  st.session = std::move(session);
  st.no = no;
  st.count = count;
  st.report_to = std::move(report_to);
  st.done = done;
  run_next(self);
  return {};
}

// Connections the runtime's pools opened so far (the demo's runtime has the demo's pool only),
// as their stats count them; the last known count when the stats do not come.
std::uint64_t opened_by_pools(runtime& rt, std::uint64_t last_known) {
  try {
    std::uint64_t opened = 0;
    for (const auto& s : rt.stats())
      opened += s.opened;
    return opened;
  } catch (const std::exception&) {
    return last_known;
  }
}

phase_result run_with_pool(const credentials& creds, const demo_config& cfg, runtime& rt) {
  phase_result r;
  r.name = "exapool";
  // Workers count their statements here, and they all end before this function returns.
  std::atomic<std::size_t> done{0};
  std::uint64_t opened = 0; // the reporter's, which reports one at a time
  progress_reporter progress{"exapool",
                             "statements",
                             "connections opened",
                             cfg.sessions * cfg.statements,
                             [&] {
                               opened = opened_by_pools(rt, opened);
                               return progress_counts{done.load(), opened};
                             },
                             progress_style_of(cfg)};
  auto start = clock_type::now();
  auto warm = rt.prewarm(creds); // the pool's size, from the options or the environment
  r.connect_s = seconds_since(start);
  for (const auto& why : warm.failures)
    std::cerr << "prewarm: " << why << "\n";
  caf::scoped_actor self{rt.system()};
  for (std::size_t s = 0; s < cfg.sessions; ++s)
    self->spawn(demo_worker, rt.spawn_session(creds), s, cfg.statements,
                caf::actor_cast<caf::actor>(self), &done);
  for (std::size_t s = 0; s < cfg.sessions; ++s)
    self->receive([&](done_atom, const std::vector<double>& latencies, std::size_t failures,
                      const std::string& first_error) {
      r.latencies_ms.insert(r.latencies_ms.end(), latencies.begin(), latencies.end());
      r.failures += failures;
      if (r.first_error.empty())
        r.first_error = first_error;
    });
  r.wall_s = seconds_since(start);
  r.connections = rt.stats(creds).opened;
  return r;
}

void print_row(const char* what, const std::string& a, const std::string& b, const std::string& c) {
  std::printf("  %-28s %14s %14s %14s\n", what, a.c_str(), b.c_str(), c.c_str());
}

std::string fmt(double v, const char* unit = "", int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", digits, v, unit);
  return buf;
}

std::string reduction(double before, double after) {
  return before > 0 ? fmt(100.0 * (before - after) / before, " % less", 0) : "n/a";
}

void print_table(const phase_result& a, const phase_result& b, std::size_t total, bool embedded) {
  std::printf("\n");
  print_row("", a.name, b.name, "reduction");
  print_row("connections opened", std::to_string(a.connections), std::to_string(b.connections),
            reduction(a.connections, b.connections));
  if (embedded)
    print_row("server sessions (exasim)", std::to_string(a.server_sessions),
              std::to_string(b.server_sessions), reduction(a.server_sessions, b.server_sessions));
  print_row("wall time", fmt(a.wall_s, " s", 2), fmt(b.wall_s, " s", 2),
            reduction(a.wall_s, b.wall_s));
  print_row("time spent connecting", fmt(a.connect_s, " s", 2), fmt(b.connect_s, " s", 2),
            reduction(a.connect_s, b.connect_s));
  print_row("queries per second", fmt(total / a.wall_s), fmt(total / b.wall_s),
            fmt(a.wall_s / b.wall_s, "x faster"));
  print_row("p50 latency", fmt(percentile(a.latencies_ms, 0.5), " ms"),
            fmt(percentile(b.latencies_ms, 0.5), " ms"), "");
  print_row("p99 latency", fmt(percentile(a.latencies_ms, 0.99), " ms"),
            fmt(percentile(b.latencies_ms, 0.99), " ms"), "");
  print_row("failed statements", std::to_string(a.failures), std::to_string(b.failures), "");
  std::printf("\n  connecting: the sum over connects (no pool) vs prewarm's wall time (exapool)\n");
}

// The client processes against `port` (exasim or the proxy in front of it), with their progress:
// processes ended, and the server sessions exasim opened meanwhile (through the proxy, its
// upstream connections).
process_run run_processes_shown(const char* label, const demo_config& cfg, exasim::server& sim,
                                std::uint16_t port) {
  std::atomic<std::size_t> finished{0};
  auto base = sim.stats().sessions_opened;
  progress_reporter progress{
      label,
      "processes",
      "server sessions",
      cfg.processes,
      [&] {
        return progress_counts{finished.load(), sim.stats().sessions_opened - base};
      },
      progress_style_of(cfg)};
  return run_client_processes(port, cfg.user, cfg.password, cfg.processes, cfg.parallel, &finished);
}

// The dbt-shaped case: the same short-lived client processes, first straight to exasim, then
// through exapool proxy in front of it (transaction mode, the runtime's pool size). False when
// a process failed or the proxy opened more server sessions than its pool size.
bool run_process_case(const demo_config& cfg, exasim::server& sim, caf::actor_system& sys,
                      const runtime_config& rt_config) {
  std::printf("\ndbt-shaped case: %zu client processes (exapool query), %zu at a time, each "
              "logging in,\nrunning a statement and disconnecting; pool size %zu\n",
              cfg.processes, cfg.parallel, rt_config.pool.max_size);
  std::fflush(stdout);
  auto base = sim.stats().sessions_opened;
  auto direct = run_processes_shown("direct", cfg, sim, sim.port());
  auto direct_sessions = sim.stats().sessions_opened - base;
  process_run pooled;
  std::uint64_t proxy_sessions = 0;
  {
    runtime rt{sys, rt_config};
    proxy::proxy_options options;
    options.upstream.dsn = sim.dsn();
    options.mode = proxy_mode::transaction;
    // One RSA key for all client logins (`--proxy.shared-rsa-key`): the demo shows what the
    // upstream logins cost, not the proxy's key generation per client connection.
    options.fresh_rsa_key = false;
    proxy::proxy front(rt, options);
    front.start();
    base = sim.stats().sessions_opened;
    pooled = run_processes_shown("via proxy", cfg, sim, front.port());
    proxy_sessions = sim.stats().sessions_opened - base;
    front.stop();
    rt.shutdown();
  }
  std::printf("\n");
  print_row("", "direct", "via proxy", "reduction");
  print_row("failed processes", std::to_string(direct.failed), std::to_string(pooled.failed), "");
  print_row("server sessions (exasim)", std::to_string(direct_sessions),
            std::to_string(proxy_sessions), reduction(direct_sessions, proxy_sessions));
  print_row("wall time", fmt(direct.wall_s, " s", 2), fmt(pooled.wall_s, " s", 2),
            reduction(direct.wall_s, pooled.wall_s));
  print_row("time spent connecting", fmt(direct.connect_s, " s", 2), fmt(pooled.connect_s, " s", 2),
            reduction(direct.connect_s, pooled.connect_s));
  std::printf("\n  connecting: the sum of every process's connect and login time\n");
  for (const auto* r : {&direct, &pooled})
    if (r->failed > 0)
      std::cerr << (r == &direct ? "direct" : "via proxy") << ": " << r->failed
                << " processes failed, first: " << r->first_error << "\n";
  return direct.failed == 0 && pooled.failed == 0 && proxy_sessions <= rt_config.pool.max_size;
}

} // namespace

// The real Exasol the configuration names, if any (else the demo embeds exasim): every field
// from credentials_from_config, --demo.dsn and --demo.user standing for exapool.dsn and
// exapool.user.
std::optional<credentials> configured_database(demo_config& cfg) {
  for (auto [own, shared] :
       {std::pair{"demo.dsn", "exapool.dsn"}, std::pair{"demo.user", "exapool.user"}})
    if (auto value = caf::get_if<std::string>(&cfg.content, own))
      caf::put(cfg.content, shared, *value);
  if (caf::get_if(&cfg.content, "exapool.dsn") == nullptr && env_or("EXAPOOL_DSN", "").empty())
    return std::nullopt;
  return credentials_from_config(cfg);
}

int run_demo(int argc, char** argv) {
  demo_config cfg;
  if (auto code = parse_options(cfg, argc, argv))
    return *code;
  cfg.load_admin_middleman();
  if (cfg.sessions == 0 || cfg.statements == 0 || cfg.sessions > 1000) {
    std::cerr << "error: --demo.sessions must be 1..1000 and --demo.statements at least 1\n";
    return 2;
  }
  if (cfg.processes > 10000 || (cfg.processes > 0 && (cfg.parallel == 0 || cfg.parallel > 256))) {
    std::cerr << "error: --demo.processes must be 0..10000 and --demo.parallel 1..256\n";
    return 2;
  }
  try {
    auto rt_config = cfg.to_runtime_config();
    std::unique_ptr<exasim::server> sim;
    auto database = configured_database(cfg);
    credentials creds = database ? *database : credentials{};
    creds.client_name = "exapool demo";
    if (!database) {
      creds.user = cfg.user;
      creds.password.value = cfg.password;
      exasim::server_options opts;
      opts.login_latency = duration_cast<milliseconds>(cfg.login_latency);
      opts.users = {{cfg.user, cfg.password}};
      sim = std::make_unique<exasim::server>(opts);
      sim->start();
      creds.dsn = sim->dsn();
      std::printf("exasim on wss://127.0.0.1:%u, login latency %lld ms (the seed measured ~1 s)\n",
                  sim->port(), static_cast<long long>(opts.login_latency.count()));
    } else {
      std::printf("Exasol at %s\n", creds.dsn.c_str());
    }
    std::size_t total = cfg.sessions * cfg.statements;
    std::printf("workload: %zu sessions x %zu statements; pool size %zu\n", cfg.sessions,
                cfg.statements, rt_config.pool.max_size);
    {
      exasol::connection setup(client_options(creds));
      setup.execute("CREATE TABLE IF NOT EXISTS exapool_demo_runs (session_no DECIMAL(9,0), "
                    "step DECIMAL(9,0))");
      setup.disconnect();
    }
    auto opened_before = [&] { return sim ? sim->stats().sessions_opened : 0; };
    caf::actor_system sys{cfg};
    phase_result before, after;
    {
      // Made before the first phase (which does not use it) so that its admin endpoint is up
      // for the whole run: the pool's phase alone is over in a few seconds.
      runtime rt{sys, rt_config};
      if (rt.admin_port() != 0) {
        std::printf("pool stats while it runs: exapool stats --stats.port=%u\n", rt.admin_port());
        std::fflush(stdout);
      }
      auto base = opened_before();
      before = run_without_pool(creds, cfg);
      before.server_sessions = opened_before() - base;
      base = opened_before();
      after = run_with_pool(creds, cfg, rt);
      rt.shutdown();
      after.server_sessions = opened_before() - base;
    }
    print_table(before, after, total, sim != nullptr);
    for (const auto* r : {&before, &after})
      if (r->failures > 0)
        std::cerr << r->name << ": " << r->failures
                  << " statements failed, first: " << r->first_error << "\n";
    if (sim && sim->stats().active_sessions != 0)
      std::cerr << "error: " << sim->stats().active_sessions << " server sessions left open\n";
    bool ok = before.failures == 0 && after.failures == 0 &&
              after.connections <= rt_config.pool.max_size &&
              (!sim || sim->stats().active_sessions == 0);
    if (sim && cfg.processes > 0)
      ok = run_process_case(cfg, *sim, sys, rt_config) && ok;
    else if (cfg.processes > 0)
      std::printf("\n(the dbt-shaped case runs against the embedded exasim only)\n");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

} // namespace exapool::cli
