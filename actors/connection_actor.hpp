// The connection actor: owns one Exasol session and runs one request at a time on it, under
// a lease. Lease ids grow strictly per connection, which lets the connection tell by itself
// which lease may run SQL: it keeps `current` (the lease in use, 0 none) and `ended` (the
// highest lease id known to have ended). A request under lease L is accepted iff
// L != 0 && L > ended && L >= current; an L above current becomes current (the pool hands out
// a new lease only after the previous one ended). Leases end in two ways:
// - at the connection: execute-and-release ends the lease with its statement and tells the
//   pool (released) before it replies to the borrower;
// - at the pool (give_back, a dead borrower, shutdown): the pool sends end_lease before it hands
//   the connection to anyone else, so the ended id is refused from then on.
// A lease that ended can never run SQL again. The connection also tells its pool when the
// session becomes dirty (attributes changed, transaction open, prepared statements left open),
// so a return can skip the reset round trip when nothing changed.
#pragma once

#include "integration/exasol/connection.hpp"
#include "messages/atoms.hpp"
#include "messages/credentials.hpp"
#include "messages/proxy.hpp"
#include "messages/query.hpp"

#include <caf/exit_reason.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace exasol {
class io_threads;
}

namespace exapool {

using end_lease_atom = caf::atom_constant<caf::atom("end_lease")>;
using dirty_atom = caf::atom_constant<caf::atom("dirty")>;
using released_atom = caf::atom_constant<caf::atom("released")>;

// What a connection actor tells its pool without being asked.
using connection_listener = caf::typed_actor<
    // The session under this lease id is no longer at the pool's baseline.
    caf::reacts_to<dirty_atom, std::uint64_t>,
    // This lease ended at the connection (execute-and-release); true when the session is dirty
    // (the pool resets it before reuse). Sent before the borrower's reply.
    caf::reacts_to<released_atom, std::uint64_t, bool>>;

// How to end a connection actor (the pool's kill): an exit with this reason is trapped, and the
// actor goes down only once its server session is closed. A running call's requester hears
// connection_lost at once and the call's socket is dropped; an idle session gets a proper
// disconnect, which the client bounds by its socket_timeout; requests that arrive meanwhile
// are refused with connection_lost. (exit_reason::kill cannot be trapped: the actor would be
// down at once and its session closed only afterwards.)
constexpr caf::exit_reason connection_end_reason = caf::exit_reason::user_shutdown;

using connection_actor = caf::typed_actor<
    // Connect and log in. Replies the server's session id, or an error (auth, connect) whose
    // text names the cause and never a secret.
    caf::replies_to<open_atom>::with<std::uint64_t>,
    // SELECT 1 on the session: true when it answered.
    caf::replies_to<validate_atom>::with<bool>,
    // Back to the baseline (rollback, close prepared statements, attributes as at login): true
    // when clean now, false when it cannot be (the pool then closes it).
    caf::replies_to<reset_atom>::with<bool>,
    // This lease ended at the pool: it (and every lower id) is refused from now on.
    caf::reacts_to<end_lease_atom, std::uint64_t>,
    // SQL under a lease. A lease id that ended, or is older than the current one, gets
    // pool_errc::stale_lease. A newer id becomes current (a dirty session is reset first).
    caf::replies_to<execute_atom, std::uint64_t, std::string>::with<query_result>,
    // SQL under a lease, and the lease ends with it, failed or not: the pool hears
    // (released_atom) before the borrower has the reply. A stale lease is refused as above.
    caf::replies_to<execute_atom, std::uint64_t, std::string, release_atom>::with<query_result>,
    // One request of a proxied client under a lease (exapool proxy), with the same lease rules
    // as SQL above. A server error is part of the outcome (sql_code, text); errors are kept
    // for transport and lease failures, as above. The pool hears of a session the outcome left
    // off the baseline (attributes, transaction, prepared statements, session change).
    caf::replies_to<execute_atom, std::uint64_t, proxy_request>::with<proxy_outcome>,
    // Starts an explicit transaction under a lease (Exasol has no BEGIN: autocommit goes off).
    // The session is dirty from then on, so its return restores autocommit.
    caf::replies_to<begin_atom, std::uint64_t>::with<bool>,
    // Disconnect properly (the server session ends) and stop.
    caf::replies_to<close_atom>::with<bool>>;

// Completion of an asynchronous backend call: called exactly once, either before the call
// returns (on the caller's thread) or later from any thread. It gets the failure (an
// exasol::error or statement_aborted_error), or no failure and the value.
template <class T> using backend_done = std::function<void(std::exception_ptr, T)>;

// What a connection actor connects with: the real Exasol client, or a test double.
//
// The connection actor drives a backend through the asynchronous start_* calls, one at a time:
// the next starts only after the previous one completed. Their defaults run the synchronous
// call of the same name and complete before returning, which suits a test double; the real
// backend completes them from its I/O threads, so no actor waits on the network. The
// synchronous calls are for code outside an actor (tools, tests); never call them on an I/O
// thread or inside an actor.
class connection_backend {
public:
  virtual ~connection_backend() = default;
  // True when the synchronous calls block for long and the asynchronous defaults are used:
  // the actor then runs on a thread of its own, never on CAF's scheduler threads.
  virtual bool blocks() const = 0;
  virtual std::uint64_t open() = 0; // throws exasol::error
  virtual query_result execute(const std::string& sql) = 0;
  virtual void begin() = 0; // autocommit off; throws exasol::error
  // One request of a proxied client (messages/proxy.hpp): applies the attributes of
  // request.wanted that differ from the session's, then runs it. A server error is returned in
  // the outcome; other failures throw exasol::error as execute does. The default throws
  // error_kind::config: the backend does not proxy.
  virtual proxy_outcome run(const proxy_request& request);
  virtual bool validate() = 0; // never throws
  virtual bool is_dirty() const = 0;
  virtual bool reset() = 0; // never throws: false when it cannot be made clean
  virtual bool is_open() const = 0;
  virtual void close() = 0; // disconnect properly; never throws

  // The asynchronous forms, with the same results and failures as the calls above.
  virtual void start_open(backend_done<std::uint64_t> done);
  virtual void start_execute(std::string sql, backend_done<query_result> done);
  virtual void start_run(proxy_request request, backend_done<proxy_outcome> done);
  virtual void start_begin(backend_done<bool> done);    // true when autocommit is off
  virtual void start_validate(backend_done<bool> done); // never fails
  virtual void start_reset(backend_done<bool> done);    // never fails
  // Never fails. Unlike the others it may start while another call runs (an actor that ends
  // mid-statement): the socket is then dropped at once, and the server ends the session.
  virtual void start_close(backend_done<bool> done);

  // Asks the server to abort the statement running now, if any. Callable from any thread while
  // another call runs, and never blocks or does I/O on the caller's thread (the real client
  // posts the abortQuery to the thread driving the statement). The running call then fails
  // with statement_aborted_error (or an exasol::error with sqlCode R0003).
  // Precondition: the caller has heard (by a message) that open() returned; from then on it is
  // safe at any time, also during close() and after the connection actor ended (a backend
  // keeps its client alive until the backend itself is destroyed).
  virtual void abort_running() noexcept {}
};

// Thrown by a backend's execute when the statement did not complete because it was aborted:
// abort_running(), or its time limit (the query timeout) passed. The connection actor answers
// pool_errc::statement_aborted; whether the session survived tells is_open().
class statement_aborted_error : public exasol::error {
public:
  using exasol::error::error;
};

// What a statement does to the session (messages/session_change.hpp), decided by its leading
// keywords (any case, after whitespace and comments). Backends mark the session by it, whether
// the statement succeeds or not (a failure may have come after the change).
session_change session_change_of(std::string_view sql);

// The real backend: an exasol::async_connection made from `creds` when open() is called, on
// the executor of `io` (which must outlive the backend's last call). Without `io`, on the
// process's shared I/O thread (exasol::shared_io_threads()).
std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds,
                                                        exasol::io_threads& io);
std::unique_ptr<connection_backend> make_exasol_backend(const credentials& creds);

// The client options that credentials describe (what make_exasol_backend connects with), for
// code that opens a connection outside a pool.
exasol::connection_options connection_options_of(const credentials& creds);

// Makes the backend of each new connection of a pool.
using backend_factory = std::function<std::unique_ptr<connection_backend>()>;

// Spawns a connection actor over `backend` (detached when backend->blocks()), reporting
// dirtiness to `listener`.
connection_actor spawn_connection(caf::actor_system& sys,
                                  std::shared_ptr<connection_backend> backend,
                                  connection_listener listener);

} // namespace exapool
