// Error codes of the pool runtime, registered with CAF under the category "exapool". The
// context text of every error names the problem; it never contains a password or token.
// An error's context is its text, and for an error the server answered with a sqlCode, that
// sqlCode as a second field: read both with info_of (or code_of and context_of).
#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace exapool {

enum class pool_errc : std::uint8_t {
  none = 0,
  acquire_timeout,       // no connection within acquire_timeout; context has the pool's counts
  shutting_down,         // the pool or runtime is draining: no new borrows
  authentication_failed, // the server refused the credentials (08004): not retried in a storm
  connect_failed,        // the server could not be reached; context has the last cause
  stale_lease,           // a lease id that is no longer current (returned or taken back)
  connection_lost,       // the connection broke during the request
  server_error,          // the server answered with an SQL error; context has sqlCode and text
  invalid_config,        // a bad configuration value; context names it
  pool_failed,           // the pool actor died; the supervisor restarts it
  session_limit,         // the server refused a login: its session limit is reached (not a
                         // credentials problem: the pool keeps serving with what it has)
  result_too_large,      // a result exceeded the configured maximum result size
  statement_aborted,     // the statement was aborted (its borrower gave up or died, or its
                         // time limit passed); it did not complete
  too_many_waiters,      // the pool's waiter queue is full: refused at once
  too_many_pools,        // the runtime's limit on pools is reached: a new pool key is refused
  untrusted_server,      // opening a connection: the server's certificate failed the TLS rules
                         // (chain, host name, pinned fingerprint); not retried in a storm
};

std::string to_string(pool_errc code);

constexpr caf::atom_value error_category = caf::atom("exapool");

inline caf::error make_error(pool_errc code) {
  return caf::error{static_cast<std::uint8_t>(code), error_category};
}

inline caf::error make_error(pool_errc code, std::string context) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

// An error the server answered with: its sqlCode ("42000", "R0003", "08004", ...) travels as a
// field of its own beside the text (empty sql_code: the same as make_error(code, context)).
caf::error make_error(pool_errc code, std::string context, std::string sql_code);

// The code of an exapool error, or none for an error of another category.
pool_errc code_of(const caf::error& err);
// The context text of an error made by make_error (empty when there is none).
std::string context_of(const caf::error& err);
// The sqlCode the server answered with; empty when the error did not come from the server
// with one (a pool error such as acquire_timeout, a lost connection, an error of another
// category).
std::string sql_code_of(const caf::error& err);

// What actor code needs to act on a failed request: the kind of failure, the server's
// sqlCode and the text (never a secret). For example:
//   self->request(session, t, query_atom::value, sql).then(
//       [](const exasol::result_set& rows) { ... },
//       [](const caf::error& err) {
//         auto info = exapool::info_of(err);
//         if (info.kind == exapool::pool_errc::server_error && info.sql_code == "42000") ...
//       });
struct error_info {
  pool_errc kind = pool_errc::none; // none: no error, or an error of another category
  std::string sql_code;             // the server's sqlCode; empty when there is none
  std::string text;                 // the context text (empty when there is none)
};
error_info info_of(const caf::error& err);

} // namespace exapool
