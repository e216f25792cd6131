#include "actors/proxy_session_actor.hpp"

#include "actors/borrowing.hpp"
#include "actors/connection_actor.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>
#include <utility>

namespace exapool {
namespace {

struct held_lease {
  lease granted;
  pool_actor pool;
};

struct proxy_session_state {
  supervisor_actor supervisor;
  credentials creds;
  session_config config;
  pool_actor pool; // looked up on first use (borrowing.hpp)
  proxy_mode mode = proxy_mode::transaction;
  std::optional<held_lease> held;
  pool_actor counted_by;        // the pool told that this client uses it (pool_stats::clients)
  bool pinned_for_life = false; // a session change no reset can see (transaction mode)
  // The upstream session that held the client's state (its whole session in session mode; an
  // open transaction, prepared statements or a lasting change in transaction mode) was lost.
  // Against Exasol the client's connection would be gone; here every later request fails, so
  // that no later COMMIT can commit part of a transaction whose beginning was rolled back.
  bool lost = false;
  std::function<void(caf::error)> login;                     // the login in flight
  std::function<void(caf::expected<proxy_outcome>)> pending; // the request in flight

  // However the actor ends (the client left, the runtime stops), the lease goes straight back
  // (the pool resets the connection: an open transaction is rolled back) and a completion still
  // owed is called, so the front never waits for an actor that is gone.
  ~proxy_session_state() {
    if (held)
      caf::anon_send(held->pool, give_back_atom::value, held->granted.id);
    if (login)
      login(make_error(pool_errc::shutting_down, "proxy session ended during login"));
    if (pending)
      pending(make_error(pool_errc::shutting_down, "proxy session ended during the request"));
  }

  static inline const char* name = "exapool.proxy_session";
};

using proxy_pointer = proxy_session_actor::stateful_pointer<proxy_session_state>;

void give_back(proxy_pointer self) {
  auto& st = self->state;
  if (!st.held)
    return;
  self->send(st.held->pool, give_back_atom::value, st.held->granted.id);
  st.held.reset();
}

// The pool counts this client among its clients (again, when it is a new pool for the key),
// and answers whether it vouches for the client's credentials (pool_actor.hpp). A pool that
// counts the client already is not asked: `on_answer(false)` then means "not known", which
// callers treat as "prove it by borrowing".
template <class OnAnswer>
void count_in(proxy_pointer self, const pool_actor& pool, OnAnswer on_answer) {
  auto& st = self->state;
  if (st.counted_by == pool) {
    on_answer(false);
    return;
  }
  st.counted_by = pool;
  self->request(pool, st.config.lookup_timeout, client_atom::value)
      .then([on_answer](bool vouched) mutable { on_answer(vouched); },
            [on_answer](caf::error&) mutable { on_answer(false); });
}

void count_in(proxy_pointer self, const pool_actor& pool) {
  count_in(self, pool, [](bool) {});
}

void finish_login(proxy_pointer self, caf::error err) {
  auto done = std::exchange(self->state.login, nullptr);
  if (done)
    done(std::move(err));
}

void finish(proxy_pointer self, caf::expected<proxy_outcome> outcome) {
  auto done = std::exchange(self->state.pending, nullptr);
  if (done)
    done(std::move(outcome));
}

// Whether the client must stay on its connection after this outcome (transaction mode).
bool needs_its_connection(proxy_pointer self, const proxy_outcome& outcome) {
  auto& st = self->state;
  if (outcome.change == session_change::lasting)
    st.pinned_for_life = true;
  return st.pinned_for_life || outcome.transaction_open || outcome.open_prepared > 0;
}

// The request on the lease the client holds. The connection bounds the statement (its socket
// timeout bounds every silence, heartbeats count as life only while the server works), and
// always answers what it took, so the request needs no timeout of its own. `state_on_it`: the
// connection carries the client's state from before this request (session mode, or pinned).
void run_on_lease(proxy_pointer self, proxy_request request, bool state_on_it) {
  auto& held = *self->state.held;
  auto connection = caf::actor_cast<connection_actor>(held.granted.connection);
  self->request(connection, caf::infinite, execute_atom::value, held.granted.id, std::move(request))
      .then(
          [self](proxy_outcome& outcome) {
            auto& st = self->state;
            if (st.mode == proxy_mode::transaction && !needs_its_connection(self, outcome))
              give_back(self);
            finish(self, std::move(outcome));
          },
          [self, state_on_it](caf::error& err) {
            // The connection is lost (or its lease taken back): whatever the session held on
            // it is gone. Without such state the next request gets another connection; with
            // it, the client's session is over (an aborted statement is no loss).
            give_back(self);
            self->state.pinned_for_life = false;
            if (state_on_it && code_of(err) != pool_errc::statement_aborted)
              self->state.lost = true;
            finish(self, exapool_error_from(err, pool_errc::connection_lost, "proxied statement",
                                            caf::timespan{0}));
          });
}

// A borrow proves the credentials: a pool that has connections of exactly these credentials
// (the pool key covers the password) hands one over at once; a new pool opens one.
void prove_by_borrowing(proxy_pointer self) {
  borrow(
      self,
      [self](lease granted, pool_actor pool) {
        count_in(self, pool);
        self->state.held = held_lease{std::move(granted), std::move(pool)};
        if (self->state.mode == proxy_mode::transaction)
          give_back(self);
        finish_login(self, caf::error{});
      },
      [self](caf::error err) {
        // Credentials that never worked leave no pool behind (the supervisor keeps one that
        // holds connections: then the password changed upstream, and the pool's own backoff
        // answers the next logins).
        if (code_of(err) == pool_errc::authentication_failed)
          caf::anon_send(self->state.supervisor, forget_atom::value, self->state.creds);
        finish_login(self, std::move(err));
      });
}

void on_login(proxy_pointer self, proxy_login& login) {
  self->state.login = std::move(login.done);
  if (self->state.mode == proxy_mode::session) { // the client holds a connection from now on
    prove_by_borrowing(self);
    return;
  }
  // Transaction mode: a warm pool vouches for credentials it holds open connections of, so a
  // login does not wait for a connection that every client may be using.
  with_pool(
      self,
      [self](pool_actor pool) {
        count_in(self, pool, [self](bool vouched) {
          if (vouched)
            finish_login(self, caf::error{});
          else
            prove_by_borrowing(self);
        });
      },
      [self](caf::error err) { finish_login(self, std::move(err)); });
}

void on_call(proxy_pointer self, proxy_call& call) {
  auto& st = self->state;
  if (st.pending) { // the front sends one request at a time; this is a defect, not a wait
    call.done(make_error(pool_errc::invalid_config, "proxy session: a request is in flight"));
    return;
  }
  st.pending = std::move(call.done);
  if (st.lost) {
    finish(self, make_error(pool_errc::connection_lost,
                            "the upstream session that held this session's transaction, "
                            "prepared statements or session state was lost; reconnect"));
    return;
  }
  auto request = std::move(call.request);
  if (!st.held && request.type == proxy_request::kind::set_attributes) {
    // Nothing to do upstream: the client's attributes go with its next statement.
    proxy_outcome outcome;
    outcome.after = request.wanted;
    finish(self, std::move(outcome));
    return;
  }
  if (st.held) {
    run_on_lease(self, std::move(request), true);
    return;
  }
  borrow(
      self,
      [self, request](lease granted, pool_actor pool) mutable {
        count_in(self, pool);
        self->state.held = held_lease{std::move(granted), std::move(pool)};
        run_on_lease(self, std::move(request), self->state.mode == proxy_mode::session);
      },
      [self](caf::error err) { finish(self, std::move(err)); });
}

proxy_session_actor::behavior_type proxy_session(proxy_pointer self, supervisor_actor supervisor,
                                                 credentials creds, session_config config,
                                                 proxy_mode mode) {
  auto& st = self->state;
  st.supervisor = std::move(supervisor);
  st.creds = std::move(creds);
  st.config = config;
  st.mode = mode;
  return {
      [self](proxy_login& login) { on_login(self, login); },
      [self](proxy_call& call) { on_call(self, call); },
      [self](abort_atom) {
        auto& st = self->state;
        if (st.pending && st.pool)
          self->send(st.pool, abort_atom::value);
      },
  };
}

} // namespace

proxy_session_actor spawn_proxy_session(caf::actor_system& sys, supervisor_actor supervisor,
                                        credentials creds, session_config config, proxy_mode mode) {
  return sys.spawn(proxy_session, std::move(supervisor), std::move(creds), config, mode);
}

} // namespace exapool
