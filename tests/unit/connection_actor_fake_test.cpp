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

TEST_CASE_METHOD(fixture, "connection actor: a session-limit refusal is not a rejected login",
                 "[connection]") {
  fake_script script;
  script.fail_open = true;
  script.auth_failure = true;
  script.session_limit = true;
  auto conn = spawn_connection(sys, make_fake_backend(script),
                               caf::actor_cast<connection_listener>(caf::actor{listener}));
  caf::error err;
  self->request(conn, hang_guard, open_atom::value)
      .receive([](std::uint64_t) { FAIL("opened"); }, [&](caf::error& e) { err = e; });
  CHECK(code(err) == pool_errc::session_limit);
  CHECK_THAT(context_of(err), Catch::Contains("session limit reached"));
  close(conn);
}

// Issue 8, item 1: a borrower that gives up aborts its running statement. abort_running() comes
// from another thread while the connection's own thread blocks in the statement.
TEST_CASE_METHOD(fixture, "connection actor: abort_running ends the running statement",
                 "[connection][abort]") {
  fake_script script;
  script.number = 3;
  script.detached = true; // "sleep" blocks the connection's own thread
  script.open_token = open_token;
  std::shared_ptr<connection_backend> backend = make_fake_backend(script);
  auto conn =
      spawn_connection(sys, backend, caf::actor_cast<connection_listener>(caf::actor{listener}));
  open(conn);
  auto pending = self->request(conn, hang_guard, execute_atom::value, std::uint64_t{1},
                               std::string("sleep 60000"));
  backend->abort_running(); // before or while it runs: the fake applies it to this sleep
  caf::error err;
  pending.receive([](query_result&) { FAIL("the statement was not aborted"); },
                  [&](caf::error& e) { err = e; });
  CHECK(code(err) == pool_errc::statement_aborted);
  CHECK_THAT(context_of(err), Catch::Contains("R0003")); // not the hang guard's timeout
  // The statement failed; the session lives on, and a later statement is not aborted by it.
  CHECK(run(conn, 1, "sleep 1").result);
  CHECK(open_token.use_count() == 2);
  close(conn);
}

TEST_CASE("session_change_of reads the leading keywords", "[connection][session_change]") {
  using sc = session_change;
  CHECK(session_change_of("IMPERSONATE other_user") == sc::lasting);
  CHECK(session_change_of("  impersonate other_user") == sc::lasting);
  CHECK(session_change_of("-- who\n/* am */ Impersonate x") == sc::lasting);
  CHECK(session_change_of("ALTER SESSION SET NLS_FIRST_DAY_OF_WEEK = 1") == sc::lasting);
  CHECK(session_change_of("alter session set profile = 'ON'") == sc::lasting);
  CHECK(session_change_of("ALTER SESSION SET SQL_PREPROCESSOR_SCRIPT = s.p") == sc::lasting);
  CHECK(session_change_of("ALTER\n SESSION") == sc::lasting); // a form not understood
  CHECK(session_change_of("alter session set query_timeout = 5") == sc::attribute);
  CHECK(session_change_of("/*x*/ALTER SESSION SET NLS_DATE_FORMAT='YYYY'") == sc::attribute);
  CHECK(session_change_of("ALTER SESSION SET TIME_ZONE = 'UTC'") == sc::attribute);
  CHECK(session_change_of("ALTER TABLE t ADD COLUMN c INT") == sc::none);
  CHECK(session_change_of("ALTER SESSIONS") == sc::none);
  CHECK(session_change_of("SELECT 'IMPERSONATE x'") == sc::none);
  CHECK(session_change_of("IMPERSONATED") == sc::none);
  CHECK(session_change_of("-- IMPERSONATE x\nSELECT 1") == sc::none);
  CHECK(session_change_of("") == sc::none);
}

// Issue 8, item 7: a change reset cannot undo marks the connection for closing on return.
TEST_CASE_METHOD(fixture, "connection actor: IMPERSONATE makes the session unresettable",
                 "[connection][session_change]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  // An attribute that reset restores: dirty, and the reset succeeds.
  auto attr = lease{caf::actor_cast<caf::actor>(conn), 1};
  REQUIRE(execute_release(self, attr, "ALTER SESSION SET QUERY_TIMEOUT = 5").result);
  bool attr_dirty = false;
  listener->receive([&](released_atom, std::uint64_t, bool d) { attr_dirty = d; });
  CHECK(attr_dirty);
  bool attr_reset = false;
  self->request(conn, hang_guard, reset_atom::value)
      .receive([&](bool ok) { attr_reset = ok; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(attr_reset);
  auto l = lease{caf::actor_cast<caf::actor>(conn), 2};
  REQUIRE(execute_release(self, l, "IMPERSONATE other_user").result);
  bool dirty = false;
  listener->receive([&](released_atom, std::uint64_t, bool d) { dirty = d; });
  CHECK(dirty); // the pool resets it before anyone else gets it...
  bool reset_ok = true;
  self->request(conn, hang_guard, reset_atom::value)
      .receive([&](bool ok) { reset_ok = ok; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK_FALSE(reset_ok); // ...and the reset says it cannot: the pool closes it
  close(conn);
  CHECK(open_token.use_count() == 1);
}
