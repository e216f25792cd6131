#include "actors/connection_actor.hpp"

#include "integration/exasol/errors.hpp"
#include "messages/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <exception>
#include <string>

namespace exapool {

namespace {

struct connection_state {
  std::shared_ptr<connection_backend> backend;
  connection_listener listener;
  // The lease in use (0: none) and the highest lease id known to have ended; lease ids grow
  // per connection, so these two decide every request (see connection_actor.hpp).
  std::uint64_t current_lease = 0;
  std::uint64_t ended_lease = 0;
  // The pool has been told that the session under current_lease is dirty.
  bool dirty_reported = false;
  static inline const char* name = "exapool.connection";

  ~connection_state() {
    // Whatever ends this actor (close, a dead pool, a kill), the server session ends with it.
    if (backend && backend->is_open())
      backend->close();
  }
};

using connection_pointer = connection_actor::stateful_pointer<connection_state>;

// An error of the Exasol client as a pool error: the kind decides whether the session is gone.
caf::error to_pool_error(const exasol::error& e) {
  std::string text = e.what();
  switch (e.kind()) {
  case exasol::error_kind::server:
    // Name the sqlCode once (the real client's text usually carries it already).
    if (!e.sql_code().empty() && text.find(e.sql_code()) == std::string::npos)
      text = "[" + e.sql_code() + "] " + text;
    return make_error(pool_errc::server_error, text);
  case exasol::error_kind::auth:
    return make_error(pool_errc::authentication_failed, text);
  case exasol::error_kind::config:
    return make_error(pool_errc::invalid_config, text);
  default:
    return make_error(pool_errc::connection_lost,
                      std::string(exasol::to_string(e.kind())) + ": " + text);
  }
}

// A failed open names why; an authentication failure keeps its own code so that the pool can
// stop retrying.
caf::error to_open_error(const exasol::error& e) {
  if (e.kind() == exasol::error_kind::auth)
    return make_error(pool_errc::authentication_failed, e.what());
  return make_error(pool_errc::connect_failed,
                    std::string(exasol::to_string(e.kind())) + ": " + e.what());
}

// Tells the pool, once per lease, that the session left the baseline. Sent before the reply
// to the borrower, who gives the lease back only after that reply: the pool knows first.
void report_dirty(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  if (!st.dirty_reported && st.backend->is_dirty()) {
    st.dirty_reported = true;
    self->send(st.listener, dirty_atom::value, lease_id);
  }
}

caf::error stale(std::uint64_t lease_id) {
  return make_error(pool_errc::stale_lease,
                    "lease " + std::to_string(lease_id) + " is not current on this connection");
}

// Whether a request under `lease_id` may run: refused when that lease ended or a newer one is
// current; a newer id becomes current. A new lease on a session that is still dirty (a
// statement finished after its lease ended, so the pool could not know) starts clean anyway;
// when it cannot, the connection ends and the pool, which monitors it, replaces it.
caf::error admit(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  if (lease_id == 0 || lease_id <= st.ended_lease || lease_id < st.current_lease)
    return stale(lease_id);
  if (lease_id == st.current_lease)
    return caf::none;
  st.current_lease = lease_id;
  st.dirty_reported = false;
  if (st.backend->is_dirty() && !st.backend->reset()) {
    st.backend->close();
    auto err = make_error(pool_errc::connection_lost, "session could not be reset");
    self->quit(err);
    return err;
  }
  return caf::none;
}

// The lease ends here, with its last statement: refused from now on, and the pool hears it
// before the borrower has the reply (so a borrower that borrows again at once finds the
// connection back in the pool).
void release_here(connection_pointer self, std::uint64_t lease_id, bool dirty) {
  auto& st = self->state;
  st.ended_lease = std::max(st.ended_lease, lease_id);
  st.current_lease = 0;
  self->send(st.listener, released_atom::value, lease_id, dirty);
}

// After a statement that left the session open: the lease ends here (release), or the pool
// hears of a dirty session.
void after_statement(connection_pointer self, std::uint64_t lease_id, bool release) {
  if (release)
    release_here(self, lease_id, self->state.backend->is_dirty());
  else
    report_dirty(self, lease_id);
}

// Runs `work` under a lease: refused for a stale id, errors mapped to pool errors. With
// `release` the lease ends with this request, whatever its outcome.
template <class T, class F>
caf::result<T> under_lease(connection_pointer self, std::uint64_t lease_id, bool release, F work) {
  if (auto refused = admit(self, lease_id))
    return refused;
  try {
    T out = work();
    after_statement(self, lease_id, release);
    return out;
  } catch (const exasol::error& e) {
    auto err = to_pool_error(e);
    if (!self->state.backend->is_open()) {
      // The session is gone (killed, dropped, broken): this connection must never be handed
      // out again. The pool hears it (dirty, or released as dirty) before the borrower has the
      // reply (a reset then fails, so it closes and replaces it), and this actor ends after the
      // reply in any case.
      if (release)
        release_here(self, lease_id, true);
      else
        self->send(self->state.listener, dirty_atom::value, lease_id);
      self->quit(err);
      return err;
    }
    after_statement(self, lease_id, release);
    return err;
  } catch (const std::exception& e) {
    auto err = make_error(pool_errc::connection_lost, e.what());
    if (release)
      release_here(self, lease_id, true);
    self->quit(err);
    return err;
  }
}

// The pool ended this lease (give_back, a dead borrower, shutdown): it and every older id are
// refused from now on.
void end_lease(connection_pointer self, std::uint64_t lease_id) {
  auto& st = self->state;
  st.ended_lease = std::max(st.ended_lease, lease_id);
  if (st.current_lease != 0 && st.current_lease <= lease_id)
    st.current_lease = 0;
}

connection_actor::behavior_type connection_impl(connection_pointer self,
                                                std::shared_ptr<connection_backend> backend,
                                                connection_listener listener) {
  self->state.backend = std::move(backend);
  self->state.listener = listener;
  if (listener) {
    self->monitor(listener);
    self->set_down_handler([self](const caf::down_msg& msg) {
      if (msg.source == self->state.listener.address())
        self->quit(); // the pool is gone: the destructor of the state disconnects
    });
  }
  return {
      [self](open_atom) -> caf::result<std::uint64_t> {
        try {
          return self->state.backend->open();
        } catch (const exasol::error& e) {
          return to_open_error(e);
        } catch (const std::exception& e) {
          return make_error(pool_errc::connect_failed, e.what());
        }
      },
      [self](validate_atom) -> bool { return self->state.backend->validate(); },
      [self](reset_atom) -> bool {
        bool ok = self->state.backend->reset();
        self->state.dirty_reported = !ok;
        return ok;
      },
      [self](end_lease_atom, std::uint64_t lease_id) { end_lease(self, lease_id); },
      [self](execute_atom, std::uint64_t lease_id,
             const std::string& sql) -> caf::result<query_result> {
        return under_lease<query_result>(self, lease_id, false,
                                         [&] { return self->state.backend->execute(sql); });
      },
      [self](execute_atom, std::uint64_t lease_id, const std::string& sql,
             release_atom) -> caf::result<query_result> {
        return under_lease<query_result>(self, lease_id, true,
                                         [&] { return self->state.backend->execute(sql); });
      },
      [self](begin_atom, std::uint64_t lease_id) -> caf::result<bool> {
        return under_lease<bool>(self, lease_id, false, [&] {
          self->state.backend->begin();
          return true;
        });
      },
      [self](close_atom) -> bool {
        self->state.current_lease = 0;
        self->state.backend->close();
        self->quit();
        return true;
      },
  };
}

} // namespace

connection_actor spawn_connection(caf::actor_system& sys,
                                  std::shared_ptr<connection_backend> backend,
                                  connection_listener listener) {
  if (backend->blocks())
    return sys.spawn<caf::detached>(connection_impl, std::move(backend), std::move(listener));
  return sys.spawn(connection_impl, std::move(backend), std::move(listener));
}

} // namespace exapool
