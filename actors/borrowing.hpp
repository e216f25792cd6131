// How an actor that serves a client (a session actor, a proxy session actor) finds its pool
// and borrows from it. `Self` is a stateful actor pointer whose state has `supervisor`, `creds`,
// `config` (a session_config) and `pool` (the cached pool handle, null until looked up).
#pragma once

#include "actors/pool_actor.hpp"
#include "actors/request_errors.hpp"
#include "actors/supervisor_actor.hpp"
#include "messages/errors.hpp"
#include "messages/lease.hpp"

#include <caf/error.hpp>

#include <optional>
#include <utility>

namespace exapool {

// The session's pool: the cached handle, or the supervisor's answer. After `gone` was found
// dead the supervisor is told so, and answers with its replacement.
template <class Self, class OnPool, class OnError>
void with_pool(Self self, OnPool on_pool, OnError on_error,
               std::optional<pool_actor> gone = std::nullopt) {
  auto& st = self->state;
  if (st.pool) {
    on_pool(st.pool);
    return;
  }
  auto on_answer = [self, on_pool](pool_actor& pool) mutable {
    self->state.pool = pool;
    on_pool(pool);
  };
  auto on_failure = [on_error, timeout = st.config.lookup_timeout](caf::error& err) mutable {
    on_error(exapool_error_from(err, pool_errc::pool_failed, "pool lookup", timeout));
  };
  if (gone)
    self->request(st.supervisor, st.config.lookup_timeout, pool_atom::value, st.creds, *gone)
        .then(on_answer, on_failure);
  else
    self->request(st.supervisor, st.config.lookup_timeout, pool_atom::value, st.creds)
        .then(on_answer, on_failure);
}

// A pool that refused with shutting_down while the runtime runs was evicted by the supervisor
// (idle): the supervisor answers with the key's next pool, or shutting_down when the runtime
// drains. The refusal came before anything ran, so asking again is safe.
inline bool evicted(const caf::error& err) {
  return code_of(err) == pool_errc::shutting_down;
}

// Borrows a lease. When the pool turns out to be gone (it crashed), the session reports it to
// the supervisor, which restarts it, and tries once more with the fresh pool.
// The request has no timeout of its own (a timeout costs a set and a cancel on CAF's clock per
// statement): the pool always answers — a lease, acquire_timeout after config.acquire_timeout,
// shutting_down, pool_failed from its last breath — and CAF answers request_receiver_down for
// a pool that is gone before it could.
template <class Self, class OnLease, class OnError>
void borrow(Self self, OnLease on_lease, OnError on_error,
            std::optional<pool_actor> gone = std::nullopt) {
  with_pool(
      self,
      [self, on_lease, on_error, retried = gone.has_value()](pool_actor pool) mutable {
        self->request(pool, caf::infinite, borrow_atom::value)
            .then([pool, on_lease](lease& granted) mutable { on_lease(std::move(granted), pool); },
                  [self, pool, on_lease, on_error, retried](caf::error& err) mutable {
                    if ((receiver_gone(err) || evicted(err)) && !retried) {
                      self->state.pool = nullptr;
                      borrow(self, on_lease, on_error, pool);
                      return;
                    }
                    on_error(exapool_error_from(err, pool_errc::acquire_timeout, "borrow",
                                                caf::timespan{0}));
                  });
      },
      on_error, std::move(gone));
}

} // namespace exapool
