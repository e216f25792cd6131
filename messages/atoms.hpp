// The names of the messages actors exchange. CAF 0.17 atoms: at most 10 characters.
#pragma once

#include <caf/atom.hpp>

namespace exapool {

// session -> pool: give me a connection (replies with a lease or an error).
using borrow_atom = caf::atom_constant<caf::atom("borrow")>;
// session -> pool: I am done with this lease.
using give_back_atom = caf::atom_constant<caf::atom("give_back")>;
// session -> pool: run this SQL on any connection (outside a transaction); the pool delegates
// it to a connection, which answers the session with the result.
using statement_atom = caf::atom_constant<caf::atom("statement")>;
// session -> pool: abort what the sender asked for (its statement waiting or running): the
// session gave up on it.
using abort_atom = caf::atom_constant<caf::atom("abort")>;
using forget_atom = caf::atom_constant<caf::atom("forget")>;
using client_atom = caf::atom_constant<caf::atom("client")>;
// pool -> connection: open, validate (SELECT 1), reset to the baseline, close.
using open_atom = caf::atom_constant<caf::atom("open")>;
using validate_atom = caf::atom_constant<caf::atom("validate")>;
using reset_atom = caf::atom_constant<caf::atom("reset")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
// session -> connection (with a lease id): run SQL; with release_atom appended, the lease
// ends with that statement (the connection tells the pool itself).
using execute_atom = caf::atom_constant<caf::atom("execute")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
// session: transaction control.
using begin_atom = caf::atom_constant<caf::atom("begin")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using rollback_atom = caf::atom_constant<caf::atom("rollback")>;
// supervisor and pools: warm up, report, stop.
using prewarm_atom = caf::atom_constant<caf::atom("prewarm")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using pool_atom = caf::atom_constant<caf::atom("pool")>;
// timers an actor sends itself.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;

} // namespace exapool
