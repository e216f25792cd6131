// The connection actor over a backend whose calls complete later, from another thread (as the
// real backend's complete on an I/O thread): requests wait for the running call and keep their
// order, the pool's end_lease never overtakes a statement sent before it, an actor that ends
// mid-statement answers its requester and drops the socket, and one that the pool ends
// (connection_end_reason) goes down only once the backend's close completed.
#include "pool_test_support.hpp"

#include <caf/after.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

using namespace pool_test;
using namespace std::chrono_literals;

namespace {

// The calls a gated backend started and not yet completed; the test completes them.
struct gate {
  std::mutex m;
  std::condition_variable changed;
  std::deque<std::pair<std::string, backend_done<query_result>>> pending;
  int started = 0;
  int closes_while_running = 0;
  // Closes wait here until the test completes them (when hold_closes is set).
  bool hold_closes = false;
  std::vector<backend_done<bool>> held_closes;

  // The SQL of the oldest pending call, once one is pending (empty after hang_guard).
  std::string wait_pending() {
    std::unique_lock lock{m};
    changed.wait_for(lock, hang_guard, [&] { return !pending.empty(); });
    return pending.empty() ? std::string{} : pending.front().first;
  }

  // Completes the oldest pending call from this (the test's) thread.
  void complete_oldest() {
    std::unique_lock lock{m};
    REQUIRE_FALSE(pending.empty());
    auto done = std::move(pending.front().second);
    pending.pop_front();
    lock.unlock(); // never call a completion under a lock
    done(nullptr, query_result{});
  }

  int started_count() {
    std::lock_guard lock{m};
    return started;
  }

  // Waits until a close is held; false after hang_guard.
  bool wait_close() {
    std::unique_lock lock{m};
    return changed.wait_for(lock, hang_guard, [&] { return !held_closes.empty(); });
  }

  // Completes every held close from this (the test's) thread.
  void complete_closes() {
    std::unique_lock lock{m};
    auto closes = std::move(held_closes);
    held_closes.clear();
    lock.unlock();
    for (auto& done : closes)
      done(nullptr, true);
  }
};

class gated_backend final : public connection_backend {
public:
  explicit gated_backend(std::shared_ptr<gate> g) : gate_(std::move(g)) {}

  bool blocks() const override { return false; }
  std::uint64_t open() override {
    open_ = true;
    return 1;
  }
  query_result execute(const std::string&) override { return {}; }
  void begin() override {}
  bool validate() override { return true; }
  bool is_dirty() const override { return false; }
  bool reset() override { return true; }
  bool is_open() const override { return open_; }
  void close() override { open_ = false; }

  void start_execute(std::string sql, backend_done<query_result> done) override {
    std::lock_guard lock{gate_->m};
    ++gate_->started;
    gate_->pending.emplace_back(std::move(sql), std::move(done));
    gate_->changed.notify_all();
  }

  void start_close(backend_done<bool> done) override {
    open_ = false;
    {
      std::lock_guard lock{gate_->m};
      if (!gate_->pending.empty())
        ++gate_->closes_while_running;
      if (gate_->hold_closes) {
        gate_->held_closes.push_back(std::move(done));
        gate_->changed.notify_all();
        return;
      }
    }
    done(nullptr, true);
  }

private:
  std::shared_ptr<gate> gate_;
  bool open_ = false;
};

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::scoped_actor listener{sys};
  std::shared_ptr<gate> g = std::make_shared<gate>();
  connection_actor conn = spawn_connection(sys, std::make_shared<gated_backend>(g),
                                           caf::actor_cast<connection_listener>(listener));

  fixture() {
    self->request(conn, hang_guard, open_atom::value)
        .receive([](std::uint64_t) {}, [&](caf::error& e) { FAIL(to_string(e)); });
  }

  auto send_sql(std::uint64_t lease_id, std::string sql) {
    return self->request(conn, hang_guard, execute_atom::value, lease_id, std::move(sql));
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "connection actor: requests wait for the running call, in order",
                 "[connection][async]") {
  auto a = send_sql(1, "a");
  auto b = send_sql(1, "b");
  self->send(conn, end_lease_atom::value, std::uint64_t{1}); // after b: b still runs
  auto c = send_sql(1, "c");                                 // after the end: refused
  CHECK(g->wait_pending() == "a");
  std::this_thread::sleep_for(100ms); // time for b to start beside a, were it allowed to
  CHECK(g->started_count() == 1);
  g->complete_oldest();
  a.receive([](query_result&) {}, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(g->wait_pending() == "b");
  g->complete_oldest();
  b.receive([](query_result&) {}, [&](caf::error& e) { FAIL(to_string(e)); });
  std::optional<pool_errc> refused;
  c.receive([](query_result&) {}, [&](caf::error& e) { refused = code(e); });
  CHECK(refused == pool_errc::stale_lease);
  CHECK(g->started_count() == 2);
  self->request(conn, hang_guard, close_atom::value)
      .receive([](bool) {}, [&](caf::error& e) { FAIL(to_string(e)); });
}

TEST_CASE_METHOD(fixture,
                 "connection actor: ended mid-statement, it answers the requester and drops "
                 "the socket",
                 "[connection][async]") {
  auto a = send_sql(1, "a");
  CHECK(g->wait_pending() == "a");
  self->send_exit(conn, caf::exit_reason::kill);
  std::optional<pool_errc> failed;
  a.receive([](query_result&) {}, [&](caf::error& e) { failed = code(e); });
  CHECK(failed == pool_errc::connection_lost); // an answer, not a wait until hang_guard
  {
    std::lock_guard lock{g->m};
    CHECK(g->closes_while_running == 1);
  }
  g->complete_oldest(); // the late completion finds the actor gone: dropped, nothing breaks
}

TEST_CASE_METHOD(fixture,
                 "connection actor: ended by the pool mid-statement, it is down only once the "
                 "backend's close completed",
                 "[connection][async][end]") {
  {
    std::lock_guard lock{g->m};
    g->hold_closes = true;
  }
  self->monitor(conn);
  auto a = send_sql(1, "a");
  CHECK(g->wait_pending() == "a");
  self->send_exit(conn, connection_end_reason);
  std::optional<pool_errc> failed;
  a.receive([](query_result&) {}, [&](caf::error& e) { failed = code(e); });
  CHECK(failed == pool_errc::connection_lost); // answered before the close completed
  REQUIRE(g->wait_close());
  {
    std::lock_guard lock{g->m};
    CHECK(g->closes_while_running == 1);
  }
  // The late completion of the dropped call changes nothing: no answer, no DOWN yet.
  g->complete_oldest();
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(200ms) >> [] {});
  CHECK_FALSE(down);
  g->complete_closes();
  self->receive([&](caf::down_msg& msg) { down = msg.source == conn.address(); },
                caf::after(hang_guard) >> [] {});
  CHECK(down);
}

TEST_CASE_METHOD(fixture,
                 "connection actor: ended by the pool while idle, it is down only once the "
                 "backend's close completed",
                 "[connection][async][end]") {
  {
    std::lock_guard lock{g->m};
    g->hold_closes = true;
  }
  self->monitor(conn);
  self->send_exit(conn, connection_end_reason);
  REQUIRE(g->wait_close());
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(200ms) >> [] {});
  CHECK_FALSE(down);
  std::optional<pool_errc> refused; // a statement now starts nothing and is answered
  send_sql(1, "b").receive([](query_result&) {}, [&](caf::error& e) { refused = code(e); });
  CHECK(refused == pool_errc::connection_lost);
  CHECK(g->started_count() == 0);
  g->complete_closes();
  self->receive([&](caf::down_msg& msg) { down = msg.source == conn.address(); },
                caf::after(hang_guard) >> [] {});
  CHECK(down);
}
