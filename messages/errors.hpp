// Error codes of the pool runtime, registered with CAF under the category "exapool". The
// context text of every error names the problem; it never contains a password or token.
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

// The code of an exapool error, or none for an error of another category.
pool_errc code_of(const caf::error& err);
// The context text of an error made by make_error (empty when there is none).
std::string context_of(const caf::error& err);

} // namespace exapool
