// The pool actor: owns every connection of one pool key and serialises borrow, give_back and
// validation. It never blocks and never does network I/O: it asks connection actors and reacts
// to their replies. Invariant, at every moment: idle + leased + opening <= config.max_size.
//
// Lease protocol (see connection_actor.hpp for the connection's side). Lease ids grow strictly
// per connection; handing one out sends nothing to the connection, whose first request under
// the new id makes it current. A lease ends either at the connection (execute-and-release: the
// connection sends `released` before the borrower's reply) or here (give_back, a dead
// borrower, shutdown grace), and then the pool sends `end_lease` to the connection before the
// connection can go to anyone else.
// A statement outside a transaction is one request, statement(sql): the pool takes a
// connection as for a borrow (same FIFO queue, validation, acquire_timeout, stats) and
// delegates execute-and-release to it (CAF response-promise delegation), so the connection
// answers the session directly: statement, execute-and-release, released, result — four
// messages, one of them to the connection, and no lease ever reaches the session. Borrow and
// lease remain for transactions, which hold one connection across statements.
#pragma once

#include "actors/connection_actor.hpp"
#include "messages/lease.hpp"
#include "messages/pool_config.hpp"
#include "messages/pool_key.hpp"
#include "messages/pool_stats.hpp"
#include "messages/query.hpp"

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

namespace exapool {

using pool_actor = connection_listener::extend<
    // A lease at once when a valid idle connection exists; else a new connection when under
    // max_size; else a FIFO wait bounded by acquire_timeout (pool_errc::acquire_timeout, with
    // total, leased, idle, opening and waiting counts and the last connect error in the text).
    caf::replies_to<borrow_atom>::with<lease>,
    // One statement on a connection taken exactly as for a borrow (the same waiters queue, in
    // arrival order with borrows; the same refusals and acquire_timeout error), run there as
    // execute-and-release: the connection replies to the sender. A sender that dies while its
    // statement waits is dropped; a statement already at its connection runs to its end.
    caf::replies_to<statement_atom, std::string>::with<query_result>,
    // The lease ends here (the connection is told: end_lease). The connection is reset if
    // dirty, then goes to the oldest waiter or stays idle. A lease that already ended (given
    // back, released, taken back) is ignored.
    caf::reacts_to<give_back_atom, std::uint64_t>,
    // Opens connections until n are open (idle or leased), within max_size.
    caf::replies_to<prewarm_atom, std::size_t>::with<prewarm_report>,
    caf::replies_to<stats_atom>::with<pool_stats>,
    // Drains: refuses new borrows, fails waiters, closes idle connections now and leased ones
    // when returned or after shutdown_grace; replies once every connection is closed, then stops.
    caf::replies_to<shutdown_atom>::with<pool_stats>>;

pool_actor spawn_pool(caf::actor_system& sys, pool_key key, pool_config config,
                      backend_factory make_backend);

} // namespace exapool
