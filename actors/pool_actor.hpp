// The pool actor: owns every connection of one pool key and serialises borrow, give_back and
// validation. It never blocks and never does network I/O: it asks connection actors and reacts
// to their replies. Its decisions are made by pool_core (pool_core.hpp, no CAF inside); this
// actor is the shell that turns messages, replies and down messages into the core's events
// and performs the core's effects. Invariant, at every moment: every connection actor that is
// not yet down counts against config.max_size, so the server never holds more than max_size
// sessions of this pool (a slot is freed only by the connection actor's down message; a close
// or reset that times out kills the actor and still waits for its down).
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
#include "actors/log.hpp"
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
    // Refused at once when max_waiters already wait (pool_errc::too_many_waiters), and after a
    // rejected login until the backoff ends (authentication_failed). A login refused for the
    // server's session limit fails nobody: the pool serves with the connections it has and
    // does not try to grow for a while. A borrower that dies with a lease gets its running
    // statement aborted, and the connection is reset, validated and reused.
    caf::replies_to<borrow_atom>::with<lease>,
    // One statement on a connection taken exactly as for a borrow (the same waiters queue, in
    // arrival order with borrows; the same refusals and acquire_timeout error), run there as
    // execute-and-release: the connection replies to the sender. A sender that dies while its
    // statement waits is dropped; a sender that dies while its statement runs gets the
    // statement aborted (connection_backend::abort_running), and the connection is killed if
    // the statement does not end within abort_grace.
    caf::replies_to<statement_atom, std::string>::with<query_result>,
    // The lease ends here (the connection is told: end_lease). The connection is reset if
    // dirty, then goes to the oldest waiter or stays idle. A lease that already ended (given
    // back, released, taken back) is ignored.
    caf::reacts_to<give_back_atom, std::uint64_t>,
    // The sender gave up on what it asked (its own guard passed): its waits fail with
    // statement_aborted and the statements running on its leases are aborted on the server
    // (connection_backend::abort_running); its leases stay its own until it gives them back.
    caf::reacts_to<abort_atom>,
    // The sender is a client of exapool proxy that uses this pool: counted in
    // pool_stats::clients until it is down (it is monitored like a borrower). The answer says
    // whether the pool vouches for its credentials (pool_core::vouches): then a login needs no
    // borrow to prove them.
    caf::replies_to<client_atom>::with<bool>,
    // Opens connections until n are open (idle or leased), within max_size.
    caf::replies_to<prewarm_atom, std::size_t>::with<prewarm_report>,
    caf::replies_to<stats_atom>::with<pool_stats>,
    // Drains: refuses new borrows, fails waiters, closes idle connections now and leased ones
    // when returned or after shutdown_grace (their statements aborted, abort_grace to end);
    // a connection that does not close within close_timeout is killed. Replies once every
    // connection actor is down, then stops; at the latest after shutdown_bound(config),
    // then with pool_errc::pool_failed naming the connections that did not go down.
    caf::replies_to<shutdown_atom>::with<pool_stats>>;

// The longest a shutdown takes before the pool answers it:
// shutdown_grace + abort_grace + 2 * close_timeout (close, then the wait after a kill).
// A supervisor's deadline for a pool's shutdown should be this plus its own slack.
caf::timespan shutdown_bound(const pool_config& config);

// Where a pool's events are logged, and the pool's name in those lines (no secret: a
// pool_label). No logger: nothing is logged.
struct pool_log {
  logger_ptr to;
  std::string label;
};

// config.name names the pool in its stats and acquire-timeout errors (the supervisor sets it
// to the pool's label when the runtime's config has none).
pool_actor spawn_pool(caf::actor_system& sys, pool_key key, pool_config config,
                      backend_factory make_backend, pool_log log = {});

} // namespace exapool
