// The asynchronous client against exasim in-process: many connections share one I/O thread,
// an abort from another thread, a query timeout, and a thread count that does not grow with
// the number of connections. Timeouts here are hang guards, never timed assertions.
#include "integration/exasim/server.hpp"
#include "integration/exasol/async_connection.hpp"
#include "integration/exasol/io_threads.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace exasol;
using namespace std::chrono_literals;

namespace {

connection_options ws_options(const exasim::server& s) {
  connection_options o;
  o.dsn = "127.0.0.1:" + std::to_string(s.port());
  o.tls = false;
  o.user = "sys";
  o.password = "exasol";
  o.connect_timeout = 20s;
  o.login_timeout = 60s;
  o.socket_timeout = 30s;
  o.identity.client_name = "exapool-async-test";
  return o;
}

exasim::server_options sim_options() {
  exasim::server_options o;
  o.fresh_rsa_key_per_session = false;
  return o;
}

std::size_t thread_count() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/task");
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(d);
  return n;
}

// Counts completions from the I/O thread; the test thread waits for a number of them.
struct tally {
  std::mutex m;
  std::condition_variable cv;
  std::size_t done = 0;
  std::vector<std::string> failures;

  void finish(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(m);
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        failures.push_back(x.what());
      }
    }
    ++done;
    cv.notify_all();
  }
  void fail(std::string why) {
    std::lock_guard<std::mutex> lock(m);
    failures.push_back(std::move(why));
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(m);
    return done;
  }
  bool wait_for(std::size_t n) {
    std::unique_lock<std::mutex> lock(m);
    return cv.wait_for(lock, 120s, [&] { return done >= n; });
  }
};

std::int64_t first_int(const std::vector<result>& r) {
  return std::get<std::int64_t>(r.at(0).rows.at(0, 0));
}

// Opens, then runs SELECT i, SELECT i * 2 and SELECT i + 1000 one after the other.
void open_and_query(const std::shared_ptr<async_connection>& c, std::int64_t i, tally& t) {
  c->async_open([c, i, &t](std::exception_ptr e) {
    if (e)
      return t.finish(e);
    auto step = std::make_shared<std::function<void(int)>>();
    *step = [c, i, &t, step](int k) {
      static const char* exprs[] = {"", " * 2", " + 1000"};
      static const std::int64_t want_mul[] = {1, 2, 1};
      static const std::int64_t want_add[] = {0, 0, 1000};
      if (k == 3) {
        tally& done = t; // this closure is destroyed by the next line: nothing of it after
        *step = nullptr; // breaks the cycle
        return done.finish(nullptr);
      }
      c->async_execute("SELECT " + std::to_string(i) + exprs[k],
                       [c, i, k, &t, step](std::exception_ptr e, std::vector<result> r) {
                         if (e)
                           return t.finish(e);
                         if (first_int(r) != i * want_mul[k] + want_add[k])
                           t.fail("wrong result for connection " + std::to_string(i));
                         (*step)(k + 1);
                       });
    };
    (*step)(0);
  });
}

// An async connection opened on `io` (the open counts as one completion of `t`).
std::shared_ptr<async_connection> opened(io_threads& io, const connection_options& o, tally& t) {
  auto c = std::make_shared<async_connection>(io.executor(), o);
  c->async_open([&t](std::exception_ptr e) { t.finish(e); });
  REQUIRE(t.wait_for(t.count() + 1));
  REQUIRE(t.failures.empty());
  return c;
}

// Runs `sql`, which must fail, and returns its error (one more completion of `t`).
error failure_of(async_connection& c, const std::string& sql, tally& t) {
  std::exception_ptr failure;
  auto before = t.count();
  c.async_execute(sql, [&](std::exception_ptr e, std::vector<result>) {
    failure = e;
    t.finish(nullptr);
  });
  REQUIRE(t.wait_for(before + 1));
  REQUIRE(failure);
  try {
    std::rethrow_exception(failure);
  } catch (const error& e) {
    return e;
  }
  FAIL("not an exasol::error");
  return error(error_kind::server, "");
}

} // namespace

TEST_CASE("async client: 50 connections on one I/O thread", "[client][exasim][async]") {
  exasim::server s(sim_options());
  s.start();
  io_threads io(1);
  auto before = thread_count();
  constexpr std::size_t n = 50;
  std::vector<std::shared_ptr<async_connection>> conns;
  tally opened;
  for (std::size_t i = 0; i < n; ++i) {
    conns.push_back(std::make_shared<async_connection>(io.executor(), ws_options(s)));
    open_and_query(conns.back(), std::int64_t(i), opened);
  }
  REQUIRE(opened.wait_for(n));
  CHECK(opened.failures.empty());
  for (const auto& f : opened.failures)
    UNSCOPED_INFO(f);
  // Only Asio's resolver thread may come on top, once per io_context.
  CHECK(thread_count() <= before + 1);
  CHECK(s.stats().sessions_opened == n);
  for (const auto& c : conns)
    CHECK(c->is_open());

  tally closed;
  for (const auto& c : conns)
    c->async_disconnect([&closed](std::exception_ptr e) { closed.finish(e); });
  REQUIRE(closed.wait_for(n));
  CHECK(closed.failures.empty());
  for (const auto& c : conns)
    CHECK_FALSE(c->is_open());
  for (int i = 0; i < 200 && s.stats().sessions_closed < n; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(s.stats().sessions_closed == n);
  CHECK(s.stats().active_sessions == 0);
}

TEST_CASE("async client: abort_query from another thread", "[client][exasim][async]") {
  exasim::server s(sim_options());
  s.start();
  io_threads io(1);
  tally t;
  auto c = opened(io, ws_options(s), t);

  s.set_query_latency(20s);
  // abort_query() is a no-op while no query runs, so keep asking until the query ended.
  std::atomic<bool> finished{false};
  std::thread aborter([&] {
    while (!finished) {
      std::this_thread::sleep_for(50ms);
      c->abort_query();
    }
  });
  auto e = failure_of(*c, "SELECT 1", t);
  finished = true;
  aborter.join();
  CHECK(e.kind() == error_kind::server);
  CHECK(e.sql_code() == "R0003");
  CHECK(c->is_open());

  s.set_query_latency(0ms);
  std::int64_t got = 0;
  c->async_execute("SELECT 3", [&](std::exception_ptr e, std::vector<result> r) {
    if (!e)
      got = first_int(r);
    t.finish(e);
  });
  REQUIRE(t.wait_for(3));
  CHECK(got == 3);
}

TEST_CASE("async client: the query timeout aborts and keeps the session",
          "[client][exasim][async]") {
  exasim::server s(sim_options());
  s.start();
  io_threads io(1);
  auto o = ws_options(s);
  o.query_timeout = 200ms;
  o.abort_grace = 10s; // hang guard
  tally t;
  auto c = opened(io, o, t);
  s.set_query_latency(20s);
  auto e = failure_of(*c, "SELECT 1", t);
  CHECK(e.kind() == error_kind::timeout);
  CHECK(e.sql_code() == "R0003");
  CHECK_FALSE(c->is_broken());
  s.set_query_latency(0ms);
}
