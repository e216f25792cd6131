// 500 pooled connections on one I/O thread (issue 10): the runtime's threads do not grow with
// its connections. exasim runs in-process; the process's threads are counted (entries of
// /proc/self/task) after the runtime exists, after 10 connections, after 500, and after 500
// concurrent statements. Also printed: the thread counts and the resident memory (VmRSS) at 10
// and 500 connections, so the memory per pooled connection can be read from the output (both
// ends of every connection live in this process). Nothing is asserted on memory or time.
//
// Before issue 10 each real connection had a detached actor thread and an Asio resolver thread
// of its own: these checks failed by about two threads per connection.
#include "runtime_support.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using namespace exapool;
using namespace exapool::itest;

namespace {

// The process's resident memory in kB (VmRSS of /proc/self/status), 0 when unreadable.
std::uint64_t resident_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6));
  return 0;
}

// Raises the soft limit on open files to `wanted` (within the hard limit); returns the limit.
std::uint64_t raise_open_files_limit(std::uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 0;
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
      getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

} // namespace

TEST_CASE("500 pooled connections and 500 concurrent statements on one I/O thread add no thread",
          "[runtime][scale][async]") {
  constexpr std::size_t n = 500;
  // Both ends of every connection are sockets of this process, plus exasim's and CAF's own.
  REQUIRE(raise_open_files_limit(2 * n + 512) >= 2 * n + 512);

  auto options = sim_options(); // one RSA key for all sessions
  options.max_sessions = 0;     // no session limit
  // 490 logins arrive at once on 2 shared cores: none may be dropped for a slow login.
  options.login_timeout = std::chrono::minutes(2);
  exasim::server server{options};
  server.start();
  auto creds = sim_credentials(server); // plain ws
  auto config = sim_runtime_config();
  config.pool.max_size = n;
  config.io_threads = 1;
  config.pool.acquire_timeout = 60s;
  config.pool.validation_bypass = 1min; // fresh connections: no SELECT 1 check before each use
  std::optional<runtime> rt{std::in_place, config};

  // Asio starts its resolver thread lazily, on an io_context's first async_resolve (the first
  // connection's DNS lookup), and keeps it: that one thread may come with the first connection.
  auto t0 = thread_count();
  auto report = rt->prewarm(creds, 10);
  REQUIRE(report.opened == 10);
  auto t10 = thread_count();
  auto rss10 = resident_kb();

  using clock = std::chrono::steady_clock;
  auto since = [](clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
  };
  auto start = clock::now();
  report = rt->prewarm(creds, n);
  auto prewarm_ms = since(start);
  INFO("failures: " << (report.failures.empty() ? "" : report.failures.front()));
  auto stats = rt->stats(creds);
  CHECK(stats.opened == n);
  CHECK(stats.total == n);
  CHECK(server.stats().sessions_opened == n);
  CHECK(server.stats().active_sessions == n);
  auto t500 = thread_count();
  auto rss500 = resident_kb();

  // 500 statements at once, one per session actor (no thread of the test's own): every request
  // is sent before the first answer is awaited. The scoped actor ends with this block (the
  // runtime's actor system waits for it otherwise).
  constexpr auto statement_guard = std::chrono::seconds(60);
  std::size_t t_statements = 0;
  long long statements_ms = 0;
  {
    caf::scoped_actor self{rt->system()};
    std::vector<session_actor> sessions;
    for (std::size_t i = 0; i < n; ++i)
      sessions.push_back(rt->spawn_session(creds));
    using pending_request = decltype(self->request(sessions.front(), statement_guard,
                                                   query_atom::value, std::string{}));
    std::vector<pending_request> pending;
    start = clock::now();
    for (auto& session : sessions)
      pending.push_back(
          self->request(session, statement_guard, query_atom::value, std::string("SELECT 1")));
    std::size_t answered = 0, wrong = 0;
    std::string failure;
    for (auto& request : pending)
      request.receive(
          [&](exasol::result_set& rows) { ++(first_int(rows) == 1 ? answered : wrong); },
          [&](caf::error& err) { failure = self->system().render(err); });
    statements_ms = since(start);
    t_statements = thread_count();
    INFO("a statement failed: " << failure);
    CHECK(answered == n);
    CHECK(wrong == 0);
    CHECK(rt->stats(creds).opened == n); // every statement ran on a prewarmed connection
    CHECK(server.stats().sessions_opened == n);
    for (auto& session : sessions)
      self->send_exit(session, caf::exit_reason::user_shutdown);
  }

  std::cout << "scale_500: threads t0=" << t0 << " t10=" << t10 << " t500=" << t500
            << " after 500 statements=" << t_statements << "; VmRSS t10=" << rss10
            << " kB t500=" << rss500 << " kB, "
            << (rss500 > rss10 ? (rss500 - rss10) * 1024 / (n - 10) : 0)
            << " bytes per pooled connection (client and in-process exasim together); prewarm "
            << n - 10 << " in " << prewarm_ms << " ms, " << n << " statements in " << statements_ms
            << " ms" << std::endl;
  CHECK(t500 == t10);
  CHECK(t_statements == t10);
  CHECK(t10 <= t0 + 1); // the resolver thread (see above)

  // Shutdown closes every server session.
  auto final_stats = rt->shutdown();
  REQUIRE(final_stats.size() == 1);
  CHECK(final_stats.front().closed == n);
  CHECK(eventually([&] { return server.stats().active_sessions == 0; }));
  rt.reset();
  CHECK(server.stats().active_sessions == 0);
  CHECK(server.stats().sessions_closed == n);
}
