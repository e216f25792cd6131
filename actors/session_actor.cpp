#include "actors/session_actor.hpp"

#include "actors/borrowing.hpp"
#include "actors/request_errors.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/duration.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/skip.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <optional>
#include <utility>

namespace exapool {

namespace {

// The lease a transaction holds, with the pool that issued it (the session's cached pool may
// be replaced meanwhile when that pool crashed).
struct held_lease {
  lease granted;
  pool_actor pool;
};

struct session_state {
  supervisor_actor supervisor;
  credentials creds;
  session_config config;
  pool_actor pool; // looked up on first use
  std::optional<held_lease> transaction;
  // A request is being served: the next ones are skipped (they stay in the mailbox, in order,
  // and are looked at again once this one is answered).
  bool busy = false;

  // The way out, however the session ends (quit, kill, its supervisor gone): a held lease goes
  // straight back. The pool would take it back anyway when its monitor fires; this is sooner.
  ~session_state() {
    if (transaction)
      caf::anon_send(transaction->pool, give_back_atom::value, transaction->granted.id);
  }

  static inline const char* name = "exapool.session";
};

using session_pointer = session_actor::stateful_pointer<session_state>;

// A session serves its requests strictly one after another: while one is in flight (busy),
// the next ones are skipped and wait in the mailbox. Its own requests use then(), not await():
// an awaiting actor skips every other message, exit and down messages included, so a session
// killed during a long statement would live on until the statement ended, and its pool could
// not abort the statement for the borrower that died.

// A request's time limit: `base` plus the statement guard, or none when there is no guard.
std::optional<caf::timespan> statement_limit(const session_state& st, caf::timespan base) {
  if (auto guard = statement_guard(st.creds, st.config))
    return base + *guard;
  return std::nullopt;
}

caf::duration as_duration(const std::optional<caf::timespan>& limit) {
  return limit ? caf::duration{*limit} : caf::duration{caf::infinite};
}

// The session gave up on its statement (the guard passed): the pool aborts it on its
// connection (or drops it from its queue), so that nothing goes on running unseen. The reply
// that comes anyway is dropped by CAF (the request timed out).
void abort_in_pool(session_pointer self, const pool_actor& pool) {
  self->send(pool, abort_atom::value);
}

bool guard_passed(const caf::error& err) {
  return err == caf::sec::request_timeout;
}

caf::error aborted_by_guard(const std::optional<caf::timespan>& limit) {
  return make_error(pool_errc::statement_aborted,
                    "statement aborted: no answer within " +
                        describe_span(limit.value_or(caf::timespan{0})) +
                        " (the query timeout, the abort's grace and the guard's slack)");
}

// Reported to the caller of a statement when its request failed: a pool or connection that is
// gone, or the guard, named.
template <class OnError>
void statement_failed(OnError& on_error, const caf::error& err,
                      const std::optional<caf::timespan>& limit) {
  on_error(exapool_error_from(err, pool_errc::connection_lost, "statement",
                              limit.value_or(caf::timespan{0})));
}

// One statement outside a transaction: one request to the pool, which delegates it to a
// connection (execute-and-release), and the connection answers here. The guard (when there is
// one, see session_config) covers the wait for a connection and the statement; when it passes,
// the pool is told to abort the statement and the caller hears statement_aborted. Without a
// guard nothing is left waiting for ever: the pool answers within acquire_timeout, and a
// connection answers every statement it took before it ends, whatever ends it (it handles one
// message at a time, and the client bounds every silence by socket_timeout; heartbeats count
// as life only while the server works on the statement). A receiver that is gone is either the pool
// (it crashed: report it to the supervisor and try once more with its replacement, as borrow does)
// or the connection the statement was delegated to; a cheap question to the pool tells them apart,
// so that a lost connection never gets a live pool replaced. The retry never runs a statement
// twice: CAF answers a request with "receiver down" only when the receiver ended before it
// processed it.
template <class OnResult, class OnError>
void run_pooled(session_pointer self, std::string sql, OnResult on_result, OnError on_error,
                std::optional<pool_actor> gone = std::nullopt) {
  with_pool(
      self,
      [self, sql, on_result, on_error, retried = gone.has_value()](pool_actor pool) mutable {
        auto timeout = statement_limit(self->state, self->state.config.acquire_timeout);
        self->request(pool, as_duration(timeout), statement_atom::value, sql)
            .then(
                [on_result](query_result& result) mutable { on_result(std::move(result)); },
                [self, pool, sql, on_result, on_error, retried, timeout](caf::error& err) mutable {
                  if (guard_passed(err)) {
                    abort_in_pool(self, pool);
                    on_error(aborted_by_guard(timeout));
                    return;
                  }
                  if ((!receiver_gone(err) && !evicted(err)) || retried) {
                    statement_failed(on_error, err, timeout);
                    return;
                  }
                  auto pool_gone = [self, pool, sql, on_result, on_error]() mutable {
                    self->state.pool = nullptr;
                    run_pooled(self, std::move(sql), on_result, on_error, pool);
                  };
                  if (code_of(err) == pool_errc::pool_failed || evicted(err)) {
                    pool_gone();
                    return;
                  }
                  // The pool is dead only on evidence (its requests bounce), never because
                  // the probe was slow: a slow pool must not be replaced with its connections.
                  self->request(pool, self->state.config.lookup_timeout, stats_atom::value)
                      .then([on_error, err, timeout](
                                pool_stats&) mutable { statement_failed(on_error, err, timeout); },
                            [on_error, err, timeout, pool_gone](caf::error& probe) mutable {
                              if (receiver_gone(probe))
                                pool_gone();
                              else
                                statement_failed(on_error, err, timeout);
                            });
                });
      },
      on_error, std::move(gone));
}

// A statement on the lease a transaction holds; on_error(error, by_guard). When the guard
// passes, the pool aborts the statement (by_guard: the transaction is over, its connection is
// in no state to go on).
template <class OnResult, class OnError>
void run_on(session_pointer self, const held_lease& held, std::string sql, OnResult on_result,
            OnError on_error) {
  auto connection = caf::actor_cast<connection_actor>(held.granted.connection);
  auto timeout = statement_limit(self->state, caf::timespan{0});
  self->request(connection, as_duration(timeout), execute_atom::value, held.granted.id,
                std::move(sql))
      .then([on_result](query_result& result) mutable { on_result(std::move(result)); },
            [self, pool = held.pool, on_error, timeout](caf::error& err) mutable {
              if (guard_passed(err)) {
                abort_in_pool(self, pool);
                on_error(aborted_by_guard(timeout), true);
                return;
              }
              on_error(exapool_error_from(err, pool_errc::connection_lost, "statement",
                                          timeout.value_or(caf::timespan{0})),
                       false);
            });
}

void give_back(session_pointer self, const pool_actor& pool, std::uint64_t lease_id) {
  self->send(pool, give_back_atom::value, lease_id);
}

// One statement. In a transaction it runs on the held lease; otherwise the pool runs it on a
// connection of its choice (run_pooled): back in the pool before the reply goes out.
template <class Promise, class Convert>
void statement(session_pointer self, std::string sql, Promise rp, Convert convert) {
  self->state.busy = true;
  auto deliver = [self, rp, convert](query_result result) mutable {
    self->state.busy = false;
    auto converted = convert(std::move(result));
    if (converted)
      rp.deliver(std::move(*converted));
    else
      rp.deliver(converted.error());
  };
  auto fail = [self, rp](caf::error err) mutable {
    self->state.busy = false;
    rp.deliver(std::move(err));
  };
  auto& st = self->state;
  if (st.transaction) {
    auto held = *st.transaction;
    run_on(self, held, std::move(sql), deliver,
           [self, fail](caf::error err, bool by_guard) mutable {
             // A broken connection, a taken-back lease or an abort by the guard ends the
             // transaction: the server rolled it back (or will). The error says so, so that the
             // caller knows the statements that follow run outside it.
             auto code = code_of(err);
             bool over =
                 by_guard || code == pool_errc::connection_lost || code == pool_errc::stale_lease;
             if (over && self->state.transaction) {
               auto held = *self->state.transaction;
               self->state.transaction.reset();
               give_back(self, held.pool, held.granted.id);
               fail(make_error(code, "transaction aborted: " + context_of(err), sql_code_of(err)));
               return;
             }
             fail(std::move(err));
           });
    return;
  }
  if (!st.creds.autocommit) {
    fail(make_error(pool_errc::invalid_config,
                    "statement refused: autocommit is off in these credentials, so a statement "
                    "outside begin..commit would be rolled back when its connection goes back "
                    "to the pool; run it between begin and commit, or use autocommit on"));
    return;
  }
  run_pooled(self, std::move(sql), deliver, fail);
}

caf::expected<query_result> as_is(query_result result) {
  return result;
}

caf::expected<exasol::result_set> first_result_set(query_result result) {
  if (result.results.empty() || !result.results.front().is_result_set())
    return make_error(pool_errc::server_error,
                      "query: the statement returned no result set (use execute)");
  return std::move(result.results.front().rows);
}

// Borrows one connection and keeps it. With autocommit on (the usual baseline) the connection
// turns autocommit off for this lease, so the statements up to COMMIT or ROLLBACK are one
// transaction; the pool's reset on return turns it back on.
caf::result<bool> begin(session_pointer self) {
  if (self->state.transaction)
    return true;
  self->state.busy = true;
  auto rp = self->make_response_promise<bool>();
  auto hold = [self, rp](lease granted, pool_actor pool) mutable {
    self->state.busy = false;
    self->state.transaction = held_lease{std::move(granted), std::move(pool)};
    rp.deliver(true);
  };
  auto fail = [self, rp](caf::error err) mutable {
    self->state.busy = false;
    rp.deliver(std::move(err));
  };
  borrow(
      self,
      [self, hold, fail](lease granted, pool_actor pool) mutable {
        if (!self->state.creds.autocommit) {
          hold(std::move(granted), std::move(pool));
          return;
        }
        // Turning autocommit off is one setAttributes round trip, which the client bounds by
        // its socket timeout.
        auto connection = caf::actor_cast<connection_actor>(granted.connection);
        auto timeout = self->state.creds.socket_timeout + self->state.config.guard_slack;
        self->request(connection, timeout, begin_atom::value, granted.id)
            .then([hold, granted, pool](bool) mutable { hold(granted, pool); },
                  [self, fail, granted, pool, timeout](caf::error& err) mutable {
                    give_back(self, pool, granted.id);
                    fail(exapool_error_from(err, pool_errc::connection_lost, "begin", timeout));
                  });
      },
      fail);
  return rp;
}

// COMMIT or ROLLBACK on the held lease, then the lease goes back (dirty: the pool resets it).
caf::result<bool> end_transaction(session_pointer self, const char* sql) {
  if (!self->state.transaction)
    return true;
  auto held = *self->state.transaction;
  self->state.transaction.reset();
  self->state.busy = true;
  auto rp = self->make_response_promise<bool>();
  run_on(
      self, held, sql,
      [self, held, rp](query_result) mutable {
        self->state.busy = false;
        give_back(self, held.pool, held.granted.id);
        rp.deliver(true);
      },
      [self, held, rp](caf::error err, bool) mutable {
        self->state.busy = false;
        give_back(self, held.pool, held.granted.id);
        rp.deliver(std::move(err));
      });
  return rp;
}

session_actor::behavior_type session(session_pointer self, supervisor_actor supervisor,
                                     credentials creds, session_config config) {
  self->state.supervisor = std::move(supervisor);
  self->state.creds = std::move(creds);
  self->state.config = config;
  // Sessions end with the runtime, so that nothing keeps the actor system alive.
  self->monitor(self->state.supervisor);
  self->set_down_handler([self](caf::down_msg& down) {
    if (down.source == self->state.supervisor.address())
      self->quit(caf::exit_reason::user_shutdown);
  });
  return {
      [self](execute_atom, std::string& sql) -> caf::result<query_result> {
        if (self->state.busy)
          return caf::skip;
        auto rp = self->make_response_promise<query_result>();
        statement(self, std::move(sql), rp, as_is);
        return rp;
      },
      [self](query_atom, std::string& sql) -> caf::result<exasol::result_set> {
        if (self->state.busy)
          return caf::skip;
        auto rp = self->make_response_promise<exasol::result_set>();
        statement(self, std::move(sql), rp, first_result_set);
        return rp;
      },
      [self](begin_atom) -> caf::result<bool> {
        if (self->state.busy)
          return caf::skip;
        return begin(self);
      },
      [self](commit_atom) -> caf::result<bool> {
        if (self->state.busy)
          return caf::skip;
        return end_transaction(self, "COMMIT");
      },
      [self](rollback_atom) -> caf::result<bool> {
        if (self->state.busy)
          return caf::skip;
        return end_transaction(self, "ROLLBACK");
      },
  };
}

} // namespace

std::optional<caf::timespan> statement_guard(const credentials& creds,
                                             const session_config& config) {
  if (config.statement_timeout.count() > 0)
    return config.statement_timeout;
  if (creds.query_timeout.count() <= 0)
    return std::nullopt; // no limit: the connection answers when the server does
  auto abort_grace = connection_options_of(creds).abort_grace;
  return creds.socket_timeout + creds.query_timeout + abort_grace + config.guard_slack;
}

session_config session_config_for(const pool_config& pool, caf::timespan slack) {
  session_config config;
  config.lookup_timeout = slack;
  config.guard_slack = slack;
  config.acquire_timeout = pool.acquire_timeout;
  return config;
}

session_actor spawn_session(caf::actor_system& sys, supervisor_actor supervisor, credentials creds,
                            session_config config) {
  return sys.spawn(session, std::move(supervisor), std::move(creds), config);
}

} // namespace exapool
