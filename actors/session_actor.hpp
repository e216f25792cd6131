// The session actor: what a service spawns for one unit of work. Outside a transaction each
// statement is one request to the pool (statement): the pool picks a connection and delegates
// the statement to it (execute-and-release), the connection hands itself back to the pool and
// answers the session directly. Four messages per statement, and a pool of 5 serves any number
// of sessions. begin borrows one lease and holds it until commit or rollback.
// When the session ends (or is killed) what it holds goes back to the pool: it gives the
// lease back on its way out, and the pool, which monitors its borrowers, takes it back anyway.
// Requests are served one after another, in the order they arrive.
// Credentials with autocommit off get transactions only: a statement outside begin..commit is
// refused (pool_errc::invalid_config), because its work would be rolled back, unseen, when its
// connection goes back to the pool.
#pragma once

#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"
#include "messages/credentials.hpp"
#include "messages/query.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <optional>
#include <string>

namespace exapool {

using query_atom = caf::atom_constant<caf::atom("query")>;

using session_actor = caf::typed_actor<
    // Every result of one statement.
    caf::replies_to<execute_atom, std::string>::with<query_result>,
    // The result set of one statement (server_error when the statement returned none).
    caf::replies_to<query_atom, std::string>::with<exasol::result_set>,
    // Borrows one connection and keeps it (autocommit off) until commit or rollback; true.
    // A begin inside a transaction changes nothing.
    caf::replies_to<begin_atom>::with<bool>,
    // COMMIT or ROLLBACK on the held connection, then gives it back; true. Outside a
    // transaction there is nothing to end: true at once.
    caf::replies_to<commit_atom>::with<bool>, caf::replies_to<rollback_atom>::with<bool>>;

struct session_config {
  // A statement's time limit is the client's own: its query_timeout, then abortQuery and the
  // abort's grace (exasol::connection_options::abort_grace). With query_timeout 0 there is
  // none: a statement runs as long as the server works on it (its heartbeats keep the client
  // waiting), and the connection always answers, with a result or an error. So the session's
  // statement guard never fires before the client's limit: there is none when query_timeout is
  // 0, else it is socket_timeout (writing the request) + query_timeout + the abort's grace +
  // guard_slack. When it fires the session asks the pool to abort the statement (abort_atom)
  // and answers pool_errc::statement_aborted. A borrow needs no guard: the pool answers every
  // borrow within its acquire_timeout, and CAF answers for a pool that is gone. A statement
  // outside a transaction waits for a connection and runs in one request: acquire_timeout
  // plus the statement guard.
  caf::timespan statement_timeout{0}; // when set, the guard itself (keep it above the limit)
  caf::timespan guard_slack = std::chrono::seconds(10);
  caf::timespan lookup_timeout = std::chrono::seconds(10);
  caf::timespan acquire_timeout = std::chrono::seconds(30); // the pool's (session_config_for)
};

// The session's guard on one statement with `creds` (see session_config); nullopt: none.
std::optional<caf::timespan> statement_guard(const credentials& creds,
                                             const session_config& config);

// A session config for a pool with `pool`'s settings: the supervisor lookup and the guards
// are given `slack`, a statement waits `pool`'s acquire_timeout plus the statement guard.
session_config session_config_for(const pool_config& pool, caf::timespan slack);

// The session looks its pool up from `supervisor` on first use (and again when that pool
// crashed and was restarted). It ends when the supervisor ends.
session_actor spawn_session(caf::actor_system& sys, supervisor_actor supervisor, credentials creds,
                            session_config config = {});

} // namespace exapool
