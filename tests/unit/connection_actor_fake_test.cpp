// The connection actor alone over the fake backend: lease ids (adopted by the first request,
// ended by the pool's end_lease or by execute-and-release), the dirty and release reports that
// reach the pool before the borrower's reply, and the end of the connection with its pool.
#include "pool_test_support.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

using namespace pool_test;

namespace {

struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  caf::scoped_actor listener{sys};
  std::shared_ptr<const int> open_token = std::make_shared<const int>(0);

  connection_actor spawn(const caf::actor& listen_to) {
    fake_script script;
    script.number = 7;
    script.open_token = open_token;
    return spawn_connection(sys, make_fake_backend(script),
                            caf::actor_cast<connection_listener>(listen_to));
  }

  std::uint64_t open(const connection_actor& conn) {
    std::uint64_t id = 0;
    self->request(conn, hang_guard, open_atom::value)
        .receive([&](std::uint64_t x) { id = x; }, [&](caf::error& e) { FAIL(to_string(e)); });
    return id;
  }

  exec_outcome run(const connection_actor& conn, std::uint64_t lease_id, std::string sql) {
    return execute(self, lease{caf::actor_cast<caf::actor>(conn), lease_id}, sql);
  }

  void close(const connection_actor& conn) {
    self->request(conn, hang_guard, close_atom::value)
        .receive([](bool) {}, [&](caf::error& e) { FAIL(to_string(e)); });
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "connection actor: only the current lease id runs SQL", "[connection]") {
  auto conn = spawn(caf::actor{listener});
  CHECK(open(conn) == 1007);
  CHECK(code(run(conn, 0, "SELECT 1").error) == pool_errc::stale_lease);
  // A lease id above every one seen so far becomes current with its first request.
  CHECK(run(conn, 5, "SELECT 1").result);
  CHECK(run(conn, 5, "SELECT 1").result);
  CHECK(code(run(conn, 4, "SELECT 1").error) == pool_errc::stale_lease); // older than current
  // The pool ended lease 5: it is refused from now on.
  self->send(conn, end_lease_atom::value, std::uint64_t{5});
  auto old = run(conn, 5, "SELECT 1");
  CHECK(code(old.error) == pool_errc::stale_lease);
  CHECK_THAT(context_of(old.error), Catch::Contains("lease 5"));
  CHECK(run(conn, 6, "SELECT 1").result);
  CHECK(code(run(conn, 5, "SELECT 1").error) == pool_errc::stale_lease);
  // An end notice for an older lease does not end the current one.
  self->send(conn, end_lease_atom::value, std::uint64_t{5});
  CHECK(run(conn, 6, "SELECT 1").result);
  self->send(conn, end_lease_atom::value, std::uint64_t{6});
  CHECK(code(run(conn, 6, "SELECT 1").error) == pool_errc::stale_lease);
  // An id ended before it was ever used is refused too.
  self->send(conn, end_lease_atom::value, std::uint64_t{8});
  CHECK(code(run(conn, 7, "SELECT 1").error) == pool_errc::stale_lease);
  CHECK(code(run(conn, 8, "SELECT 1").error) == pool_errc::stale_lease);
  CHECK(run(conn, 9, "SELECT 1").result);
  close(conn);
  CHECK(open_token.use_count() == 1);
}

TEST_CASE_METHOD(fixture, "connection actor: execute-and-release ends the lease and tells the pool",
                 "[connection][release]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  auto l = lease{caf::actor_cast<caf::actor>(conn), 3};
  REQUIRE(execute_release(self, l, "SELECT 1").result);
  // The release was enqueued before the reply was sent, so it is there already.
  REQUIRE_FALSE(listener->mailbox().empty());
  std::uint64_t released = 0;
  bool dirty = true;
  listener->receive([&](released_atom, std::uint64_t id, bool d) {
    released = id;
    dirty = d;
  });
  CHECK(released == 3);
  CHECK_FALSE(dirty);
  CHECK(code(run(conn, 3, "SELECT 1").error) == pool_errc::stale_lease);
  CHECK(code(execute_release(self, l, "SELECT 1").error) == pool_errc::stale_lease);
  CHECK(listener->mailbox().empty()); // a refused request releases nothing
  // A dirty session is released as dirty; a failed statement releases too.
  REQUIRE(execute_release(self, lease{l.connection, 4}, "dirty").result);
  listener->receive([&](released_atom, std::uint64_t id, bool d) {
    released = id;
    dirty = d;
  });
  CHECK(released == 4);
  CHECK(dirty);
  CHECK(listener->mailbox().empty()); // no separate dirty report
  auto failed = execute_release(self, lease{l.connection, 5}, "fail");
  CHECK(code(failed.error) == pool_errc::server_error);
  listener->receive([&](released_atom, std::uint64_t id, bool) { released = id; });
  CHECK(released == 5);
  CHECK(code(run(conn, 5, "SELECT 1").error) == pool_errc::stale_lease);
  close(conn);
}

TEST_CASE_METHOD(fixture, "connection actor: a statement that breaks the session still releases",
                 "[connection][release]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  self->monitor(conn);
  auto broke = execute_release(self, lease{caf::actor_cast<caf::actor>(conn), 2}, "kill");
  CHECK(code(broke.error) == pool_errc::connection_lost);
  std::uint64_t released = 0;
  bool dirty = false;
  listener->receive([&](released_atom, std::uint64_t id, bool d) {
    released = id;
    dirty = d;
  });
  CHECK(released == 2);
  CHECK(dirty); // the pool must not hand it out as it is
  bool down = false;
  self->receive([&](caf::down_msg& msg) { down = msg.source == conn.address(); });
  CHECK(down);
  CHECK(open_token.use_count() == 1);
}

TEST_CASE_METHOD(fixture, "connection actor: the pool hears of a dirty session before the reply",
                 "[connection]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  CHECK(run(conn, 9, "SELECT 1").result);
  CHECK(listener->mailbox().empty()); // clean: nothing to report
  CHECK(run(conn, 9, "dirty").result);
  // The report was enqueued before the reply was sent, so it is there already.
  REQUIRE_FALSE(listener->mailbox().empty());
  std::uint64_t reported = 0;
  listener->receive([&](dirty_atom, std::uint64_t id) { reported = id; });
  CHECK(reported == 9);
  // Once per lease.
  CHECK(run(conn, 9, "dirty").result);
  CHECK(listener->mailbox().empty());
  // A server error is no reason to report; the session stays usable.
  CHECK(code(run(conn, 9, "fail").error) == pool_errc::server_error);
  CHECK(run(conn, 9, "SELECT 1").result);
  close(conn);
}

TEST_CASE_METHOD(fixture, "connection actor: a new lease on a dirty session starts clean",
                 "[connection]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  CHECK(run(conn, 1, "dirty").result);
  // The pool ends lease 1 and hands out lease 2 without a reset (it could not know yet).
  self->send(conn, end_lease_atom::value, std::uint64_t{1});
  auto st = state_of(self, lease{caf::actor_cast<caf::actor>(conn), 2});
  CHECK(st.dirty == 0);
  CHECK(st.resets == 1);
  // The same after a lease that ended with its statement.
  CHECK(execute_release(self, lease{caf::actor_cast<caf::actor>(conn), 3}, "dirty").result);
  st = state_of(self, lease{caf::actor_cast<caf::actor>(conn), 4});
  CHECK(st.dirty == 0);
  CHECK(st.resets == 2);
  close(conn);
}

TEST_CASE_METHOD(fixture, "connection actor: it disconnects when its pool dies", "[connection]") {
  auto pool_stand_in = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](dirty_atom, std::uint64_t) {}, [](released_atom, std::uint64_t, bool) {}};
  });
  auto conn = spawn(pool_stand_in);
  open(conn);
  CHECK(open_token.use_count() == 2);
  self->monitor(conn);
  caf::anon_send_exit(pool_stand_in, caf::exit_reason::kill);
  bool down = false;
  self->receive([&](caf::down_msg& msg) { down = msg.source == conn.address(); });
  CHECK(down);
  CHECK(open_token.use_count() == 1); // the session was closed
}

TEST_CASE_METHOD(fixture, "connection actor: a failed open names the cause", "[connection]") {
  fake_script script;
  script.fail_open = true;
  script.auth_failure = true;
  auto conn = spawn_connection(sys, make_fake_backend(script),
                               caf::actor_cast<connection_listener>(caf::actor{listener}));
  caf::error err;
  self->request(conn, hang_guard, open_atom::value)
      .receive([](std::uint64_t) { FAIL("opened"); }, [&](caf::error& e) { err = e; });
  CHECK(code(err) == pool_errc::authentication_failed);
  CHECK_THAT(context_of(err), Catch::Contains("rejected"));
  close(conn);
}
