// A deterministic stand-in for an Exasol connection, for unit tests and benchmarks of the pool.
// It does no I/O. What a connection does is decided when the pool creates it (the plan) and by
// the SQL a borrower runs on it (the script words below), so every behaviour arrives through
// the same messages the real backend sees. It never blocks the caller: a call without a delay
// completes inline; a delay (block_for, "sleep") runs on a timer on the process's shared I/O
// thread (exasol::shared_io_threads()), which completes the call, so a fake connection actor is
// event-based like a real one (fake_backend.cpp says what is shared with that thread).
//
// Script words (the whole SQL text):
//   "state"        -> one row: connection number, dirty (0/1), executes so far, resets so far,
//                     setAttributes round trips of run() so far
//   "dirty"        -> the session becomes dirty (as OPEN SCHEMA or autocommit off would)
//   "unresettable" -> dirty, and reset() fails from now on
//   "kill"         -> the session dies under this statement: it fails, the client sees the
//                     connection broken (is_open() false)
//   "vanish"       -> the server ends the session silently (KILL SESSION from elsewhere): this
//                     statement succeeds, validate() is false from now on, and the next
//                     statement fails and breaks the connection
//   "fail"         -> a server error 42000; the session stays usable
//   "sleep <ms>"   -> runs <ms> milliseconds, or until abort_running() is called: then it fails
//                     as Exasol's abortQuery makes it fail (R0003, pool_errc::statement_aborted)
//                     and the session stays usable. It waits on a timer, no thread. An
//                     abort that arrives while no statement runs applies to the next "sleep"
//                     unless another statement ends first (so a test never races the start).
//                     A close (start_close) while it runs ends it at once, failed (the
//                     session itself ends after the close_delay, as below).
//   IMPERSONATE ..., ALTER SESSION ... -> as the real backend marks them (session_change_of):
//                     a lasting change makes the session unresettable (the pool closes it), an
//                     attribute change makes it dirty
//   anything else  -> an empty row count result
// begin() makes the session dirty (a transaction is open). block_for delays every call but
// close (on a timer, as "sleep"); abort_running() does not cut it short, a close does.
// close_delay models the disconnect's round trip (or the server noticing a dropped socket):
// start_close cuts a running call short at once, but the session ends, and the close
// completes, only that long after (on a timer, so open_sessions() counts it until then). A
// backend destroyed meanwhile keeps that timer; destroyed with no close started, it starts one.
//
// run() (a proxied client's request) keeps attributes (autocommit true, currentSchema "",
// queryTimeout 0 at first): it sets the wanted ones that differ (one counted setAttributes for
// all of them; unknown names are ignored), then
//   execute, batch    -> each SQL text as a script word above, one result each; with autocommit
//                        off every statement but COMMIT/ROLLBACK opens a transaction
//   prepare           -> a new handle, one DECIMAL parameter column per '?'; "fail" fails 42000
//   execute_prepared  -> a row count of num_rows; an unknown handle fails (00000)
//   close_prepared    -> the handle closes; an unknown handle fails (00000)
// Server errors ("fail") come back in the outcome. The session is dirty while its attributes
// differ from the first ones, a transaction or a prepared statement is open; reset() clears it.
#pragma once

#include "actors/connection_actor.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace exapool {

// How the next connections of a pool behave. Read and written only by the factory, which runs
// inside the pool actor: the test sets it up before the pool exists.
struct fake_plan {
  // The first n opens fail: as a refused connection, as a rejected login (08004), or as a
  // login refused at the server's session limit (08004 with "session limit reached").
  std::size_t failing_opens = 0;
  bool failures_are_auth = false;
  bool failures_are_session_limit = false;
  // Every open fails (after the failing_opens ones too).
  bool fail_every_open = false;
  // validate() answers false on every connection.
  bool fail_validate = false;
  // reset() fails on every connection.
  bool fail_reset = false;
  // Each call but close takes this long (on a timer: the connection actor stays event-based).
  std::chrono::milliseconds block_for{0};
  // A close ends the session this long after it started (see above; on a timer too).
  std::chrono::milliseconds close_delay{0};
  // No effect: kept for test sources; every fake is event-based (blocks() is false).
  bool detached = false;

  // Counted by the factory (the pool's thread): connections created so far. Read it only when
  // the pool is quiet (after a reply from it that followed the creations).
  std::uint64_t created = 0;

  // Sessions open now, over every backend of this plan, from any thread at any time: each open
  // backend holds a copy of this token (shared_ptr counts are thread-safe).
  std::shared_ptr<const int> open_token = std::make_shared<const int>(0);
  std::size_t open_sessions() const { return static_cast<std::size_t>(open_token.use_count()) - 1; }
};

// A factory for spawn_pool. Every backend it makes follows `plan` as it was when the backend
// was made.
backend_factory make_fake_factory(std::shared_ptr<fake_plan> plan);

// One fake connection with an explicit script (for tests of the connection actor alone).
struct fake_script {
  std::uint64_t number = 1;
  bool fail_open = false;
  bool auth_failure = false;
  bool session_limit = false; // the auth failure is the server's session limit
  bool fail_validate = false;
  bool fail_reset = false;
  std::chrono::milliseconds block_for{0};
  std::chrono::milliseconds close_delay{0}; // see fake_plan::close_delay
  bool detached = false; // no effect: kept for test sources; every fake is event-based
  // Locked while the session is open (see fake_plan::open_token); may be empty.
  std::weak_ptr<const int> open_token;
};

std::unique_ptr<connection_backend> make_fake_backend(fake_script script);

} // namespace exapool
