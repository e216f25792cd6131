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

// Issue 8, defect 2, at the connection: the pool frees a slot on its connection's DOWN, so the
// DOWN must come only once the server no longer holds the session. close_delay makes the fake's
// close end the session that long after it started, as a disconnect's round trip would.
namespace {

constexpr auto close_delay = std::chrono::milliseconds(300);

struct ending_fixture : fixture {
  std::shared_ptr<connection_backend> backend;
  connection_actor conn;

  ending_fixture() {
    fake_script script;
    script.open_token = open_token;
    script.close_delay = close_delay;
    backend = make_fake_backend(script);
    conn =
        spawn_connection(sys, backend, caf::actor_cast<connection_listener>(caf::actor{listener}));
    open(conn);
    self->monitor(conn);
  }

  // Waits for the connection's DOWN: how long it took from `since`, and whether the session
  // was closed when the DOWN arrived.
  std::pair<std::chrono::steady_clock::duration, bool>
  wait_down(std::chrono::steady_clock::time_point since) {
    bool closed = false;
    self->receive([&](caf::down_msg& msg) {
      REQUIRE(msg.source == conn.address());
      closed = open_token.use_count() == 1;
    });
    return {std::chrono::steady_clock::now() - since, closed};
  }
};

} // namespace

TEST_CASE_METHOD(ending_fixture,
                 "connection actor: ended by the pool while idle, it is down only once its "
                 "session is closed",
                 "[connection][end]") {
  REQUIRE(open_token.use_count() == 2);
  auto since = std::chrono::steady_clock::now();
  self->send_exit(conn, connection_end_reason);
  // A request that arrives while it closes starts nothing and is answered.
  caf::error refused;
  self->request(conn, hang_guard, validate_atom::value)
      .receive([](bool) { FAIL("validated while closing"); }, [&](caf::error& e) { refused = e; });
  CHECK(code(refused) == pool_errc::connection_lost);
  auto [took, closed] = wait_down(since);
  CHECK(closed);
  CHECK(took >= close_delay);
}

TEST_CASE_METHOD(ending_fixture,
                 "connection actor: ended by the pool mid-statement, it answers, then is down "
                 "only once its session is closed",
                 "[connection][end]") {
  // Sent before the exit, so the statement runs when the exit arrives (one sender, in order).
  auto running = self->request(conn, hang_guard, execute_atom::value, std::uint64_t{1},
                               std::string("sleep 60000"));
  auto since = std::chrono::steady_clock::now();
  self->send_exit(conn, connection_end_reason);
  auto later = self->request(conn, hang_guard, execute_atom::value, std::uint64_t{1},
                             std::string("SELECT 1"));
  caf::error lost, refused;
  running.receive([](query_result&) { FAIL("the statement completed"); },
                  [&](caf::error& e) { lost = e; });
  later.receive([](query_result&) { FAIL("a statement ran while closing"); },
                [&](caf::error& e) { refused = e; });
  CHECK(code(lost) == pool_errc::connection_lost); // at once, not after the sleep
  CHECK(code(refused) == pool_errc::connection_lost);
  auto [took, closed] = wait_down(since);
  CHECK(closed);
  CHECK(took >= close_delay);
  CHECK(took < std::chrono::seconds(10)); // the sleep was cut short
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
// from another thread while the statement runs (a "sleep" on the fake's timer).
TEST_CASE_METHOD(fixture, "connection actor: abort_running ends the running statement",
                 "[connection][abort]") {
  fake_script script;
  script.number = 3;
  script.detached = true; // no effect now: every fake can "sleep" (on a timer)
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

// --- proxy requests (exapool proxy): the lease rules of execute, server errors as data ------

namespace {

struct proxy_result {
  std::optional<proxy_outcome> outcome;
  caf::error error;
};

proxy_result run_proxy(caf::scoped_actor& self, const connection_actor& conn,
                       std::uint64_t lease_id, const proxy_request& request) {
  proxy_result out;
  self->request(conn, hang_guard, execute_atom::value, lease_id, request)
      .receive([&](proxy_outcome& o) { out.outcome = std::move(o); },
               [&](caf::error& e) { out.error = std::move(e); });
  return out;
}

proxy_request proxy_sql(std::vector<std::string> sql, exasol::attributes wanted = {}) {
  proxy_request r;
  r.type = sql.size() == 1 ? proxy_request::kind::execute : proxy_request::kind::batch;
  r.sql = std::move(sql);
  r.wanted = std::move(wanted);
  return r;
}

std::int64_t attribute_sets(const proxy_outcome& state) {
  return std::get<std::int64_t>(state.results.at(0).rows.at(0, 4));
}

} // namespace

TEST_CASE_METHOD(fixture, "connection actor: a proxy request follows the lease rules",
                 "[connection][proxy]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  CHECK(code(run_proxy(self, conn, 0, proxy_sql({"SELECT 1"})).error) == pool_errc::stale_lease);
  CHECK(run_proxy(self, conn, 4, proxy_sql({"SELECT 1"})).outcome);
  // SQL and proxy requests share the lease: an older id is refused by either.
  CHECK(code(run_proxy(self, conn, 3, proxy_sql({"SELECT 1"})).error) == pool_errc::stale_lease);
  CHECK(run(conn, 4, "SELECT 1").result);
  self->send(conn, end_lease_atom::value, std::uint64_t{4});
  auto ended = run_proxy(self, conn, 4, proxy_sql({"SELECT 1"}));
  CHECK(code(ended.error) == pool_errc::stale_lease);
  CHECK_THAT(context_of(ended.error), Catch::Contains("lease 4"));
  CHECK(listener->mailbox().empty()); // refused requests report nothing
  CHECK(run_proxy(self, conn, 5, proxy_sql({"SELECT 1"})).outcome);
  close(conn);
}

TEST_CASE_METHOD(fixture, "connection actor: a proxy server error is data, the session lives on",
                 "[connection][proxy]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  auto failed = run_proxy(self, conn, 1, proxy_sql({"fail"}));
  REQUIRE(failed.outcome);
  CHECK_FALSE(failed.error);
  CHECK(failed.outcome->failed());
  CHECK(failed.outcome->sql_code == "42000");
  CHECK_THAT(failed.outcome->text, Catch::Contains("syntax error"));
  CHECK(failed.outcome->results.empty());
  // A batch stops at its failing text, as one executeBatch does.
  auto batch = run_proxy(self, conn, 1, proxy_sql({"SELECT 1", "fail", "SELECT 2"}));
  REQUIRE(batch.outcome);
  CHECK(batch.outcome->sql_code == "42000");
  CHECK(listener->mailbox().empty()); // a server error leaves the session clean
  auto ok = run_proxy(self, conn, 1, proxy_sql({"SELECT 1", "SELECT 2"}));
  REQUIRE(ok.outcome);
  CHECK_FALSE(ok.outcome->failed());
  CHECK(ok.outcome->results.size() == 2);
  // A broken session is no data: the caller gets the error, and the connection ends.
  self->monitor(conn);
  auto killed = run_proxy(self, conn, 1, proxy_sql({"kill"}));
  CHECK_FALSE(killed.outcome);
  CHECK(code(killed.error) == pool_errc::connection_lost);
  bool down = false;
  self->receive([&](caf::down_msg& msg) { down = msg.source == conn.address(); });
  CHECK(down);
  CHECK(open_token.use_count() == 1);
}

TEST_CASE_METHOD(fixture, "connection actor: proxy attributes are set only where they differ",
                 "[connection][proxy]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  exasol::attributes baseline{
      {"autocommit", true}, {"currentSchema", std::string()}, {"queryTimeout", std::int64_t{0}}};
  auto same = run_proxy(self, conn, 1, proxy_sql({"state"}, baseline));
  REQUIRE(same.outcome);
  CHECK(attribute_sets(*same.outcome) == 0);
  CHECK(same.outcome->after == baseline);
  CHECK(listener->mailbox().empty());

  auto wanted = baseline;
  wanted["queryTimeout"] = std::int64_t{7};
  wanted["compressionEnabled"] = true; // not the session's to set: ignored
  auto changed = run_proxy(self, conn, 1, proxy_sql({"state"}, wanted));
  REQUIRE(changed.outcome);
  CHECK(attribute_sets(*changed.outcome) == 1);
  CHECK(std::get<std::int64_t>(changed.outcome->after.at("queryTimeout")) == 7);
  CHECK(changed.outcome->after.count("compressionEnabled") == 0);
  // Off the baseline: the pool hears it, once, before the reply.
  std::uint64_t reported = 0;
  listener->receive([&](dirty_atom, std::uint64_t id) { reported = id; });
  CHECK(reported == 1);
  auto again = run_proxy(self, conn, 1, proxy_sql({"state"}, wanted));
  REQUIRE(again.outcome);
  CHECK(attribute_sets(*again.outcome) == 1); // nothing differed this time
  CHECK(listener->mailbox().empty());
  close(conn);
}

TEST_CASE_METHOD(fixture, "connection actor: a proxied transaction or prepared statement is dirty",
                 "[connection][proxy]") {
  auto conn = spawn(caf::actor{listener});
  open(conn);
  exasol::attributes manual{{"autocommit", false}};
  auto insert = run_proxy(self, conn, 1, proxy_sql({"INSERT"}, manual));
  REQUIRE(insert.outcome);
  CHECK(insert.outcome->transaction_open);
  std::uint64_t reported = 0;
  listener->receive([&](dirty_atom, std::uint64_t id) { reported = id; });
  CHECK(reported == 1);
  auto commit = run_proxy(self, conn, 1, proxy_sql({"COMMIT"}, manual));
  REQUIRE(commit.outcome);
  CHECK_FALSE(commit.outcome->transaction_open);

  // Prepared statements, on a new lease that starts clean (the session was reset).
  self->send(conn, end_lease_atom::value, std::uint64_t{1});
  proxy_request prepare;
  prepare.type = proxy_request::kind::prepare;
  prepare.sql = {"INSERT INTO t VALUES (?, ?)"};
  auto prepared = run_proxy(self, conn, 2, prepare);
  REQUIRE(prepared.outcome);
  CHECK_FALSE(prepared.outcome->failed());
  CHECK(prepared.outcome->handle > 0);
  CHECK(prepared.outcome->open_prepared == 1);
  CHECK(prepared.outcome->after.at("autocommit") == exasol::value(true)); // reset on lease 2
  listener->receive([&](dirty_atom, std::uint64_t id) { reported = id; });
  CHECK(reported == 2);
  proxy_request execute;
  execute.type = proxy_request::kind::execute_prepared;
  execute.handle = prepared.outcome->handle;
  execute.data_json = "[[1,2],[3,4]]";
  execute.num_rows = 2;
  auto executed = run_proxy(self, conn, 2, execute);
  REQUIRE(executed.outcome);
  REQUIRE(executed.outcome->results.size() == 1);
  CHECK(executed.outcome->results[0].row_count == 2);
  proxy_request close_it;
  close_it.type = proxy_request::kind::close_prepared;
  close_it.handle = prepared.outcome->handle;
  auto closed = run_proxy(self, conn, 2, close_it);
  REQUIRE(closed.outcome);
  CHECK(closed.outcome->open_prepared == 0);
  // The handle is gone: a server error, as data.
  auto gone = run_proxy(self, conn, 2, execute);
  REQUIRE(gone.outcome);
  CHECK(gone.outcome->sql_code == "00000");
  // A lasting session change is reported by the outcome, and dirty.
  self->send(conn, end_lease_atom::value, std::uint64_t{2});
  auto impersonate = run_proxy(self, conn, 3, proxy_sql({"IMPERSONATE other_user"}));
  REQUIRE(impersonate.outcome);
  CHECK(impersonate.outcome->change == session_change::lasting);
  listener->receive([&](dirty_atom, std::uint64_t id) { reported = id; });
  CHECK(reported == 3);
  close(conn);
}

namespace {

// A backend that only executes SQL: it does not serve proxy requests.
class sql_only_backend final : public connection_backend {
public:
  bool blocks() const override { return false; }
  std::uint64_t open() override { return 1; }
  query_result execute(const std::string&) override { return {}; }
  void begin() override {}
  bool validate() override { return true; }
  bool is_dirty() const override { return false; }
  bool reset() override { return true; }
  bool is_open() const override { return true; }
  void close() override {}
};

} // namespace

TEST_CASE_METHOD(fixture, "connection actor: a backend without proxy support says so",
                 "[connection][proxy]") {
  auto conn = spawn_connection(sys, std::make_shared<sql_only_backend>(),
                               caf::actor_cast<connection_listener>(caf::actor{listener}));
  open(conn);
  auto refused = run_proxy(self, conn, 1, proxy_sql({"SELECT 1"}));
  CHECK(code(refused.error) == pool_errc::invalid_config);
  CHECK_THAT(context_of(refused.error), Catch::Contains("proxy"));
  CHECK(run(conn, 1, "SELECT 1").result); // the session is fine
  close(conn);
}
