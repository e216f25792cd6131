// CAF-style configuration of the runtime: an actor_system_config that declares every pool
// setting under the group "exapool", so a service configures exapool the way it configures
// CAF: `--exapool.max-size=8 --exapool.acquire-timeout=5s` on the command line, or
//   [exapool]
//   max-size=8
//   acquire-timeout=5s
// in caf-application.ini. A max-size left unset comes from EXAPOOL_POOL_SIZE, else the seed's
// DBT_CONN_POOL_SIZE, else 5. `--exapool.admin-port=7433` turns on the admin endpoint that
// `exapool stats` reads (the actor system then needs CAF's io middleman: load_admin_middleman).
// `--exapool.remote-port=7434` makes the runtime a pool node that other processes' runtimes
// borrow through, with `--exapool.pool-node=host:7434` (actors/remote.hpp).
// `--exapool.io-threads=2` sets the threads every real connection's network I/O runs on.
// `--exapool.pool-name=orders` names the pools; `--exapool.initialization-fail-timeout=10s`
// lets prewarm wait that long for a first connection before it throws the cause.
// The credentials of the service's database come from exapool.dsn, exapool.user,
// exapool.password-file or exapool.password-env, exapool.schema and exapool.init-sql, each
// else from its environment variable (credentials_from_config).
#pragma once

#include "actors/runtime.hpp"
#include "messages/pool_config.hpp"

#include <caf/actor_system_config.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exapool {

class runtime_system_config : public caf::actor_system_config {
public:
  // Declares the options and registers the "exapool" error category.
  runtime_system_config();

  // The runtime configuration these options describe. Throws runtime_error (invalid_config,
  // naming the option or variable) for a value no pool can run with.
  runtime_config to_runtime_config() const;

  // Loads CAF's io middleman when the options ask for the admin endpoint or remote sessions
  // (remote-port, pool-node). Call it after parsing and before making the actor system.
  void load_admin_middleman();

  pool_config pool{};             // bound to the options; max_size 0 means "from the environment"
  supervisor_limits limits{};     // bound to the options: pools, idle eviction, restart intensity
  std::size_t io_threads = 1;     // bound to exapool.io-threads (runtime_config::io_threads)
  std::string log_level = "info"; // bound to exapool.log-level (runtime_config::log)
  // bound to exapool.initialization-fail-timeout (runtime_config::initialization_fail_timeout)
  caf::timespan initialization_fail_timeout = runtime_config{}.initialization_fail_timeout;
  std::uint16_t admin_port = 0; // 0: no admin endpoint
  std::string admin_host = "127.0.0.1";
  std::uint16_t metrics_port = 0; // 0: no metrics endpoint
  std::string metrics_host = "127.0.0.1";
  std::uint16_t remote_port = 0; // 0: not a pool node
  std::string remote_host = "127.0.0.1";
  std::string pool_node; // "host:port": a service node borrowing through that pool node
};

// The credentials the configuration names, for a service (or a command) that reads its database
// from caf-application.ini, the command line or the environment instead of code. Each setting
// comes from `cfg` (the command line over the ini file, as CAF merges them), else from its
// environment variable, as exapool.max-size does:
//   exapool.dsn            EXAPOOL_DSN            required
//   exapool.user           EXAPOOL_USER           required
//   exapool.password-file  EXAPOOL_PASSWORD_FILE  a file holding the password (one trailing
//                                                 newline is stripped)
//   exapool.password-env   EXAPOOL_PASSWORD_ENV   the name of a variable holding the password
//   exapool.schema         EXAPOOL_SCHEMA
//   exapool.init-sql       (none: a list)         statements run on every new connection
//   exapool.snapshot-transactions, exapool.timestamp-utc (bool), exapool.numeric-characters
//   (two distinct ASCII characters), exapool.feedback-interval (seconds, 1 to below the socket
//   timeout), exapool.result-set-max-rows (0 or more): session attributes, no variables; unset,
//   the server's default stays.
// At most one of password-file and password-env; with neither, the password is
// EXAPOOL_PASSWORD (empty when unset). The other fields keep the defaults of `credentials`.
// Throws runtime_error (invalid_config) naming the option, variable or file at fault: a DSN or
// user missing, a password file that does not exist, cannot be read or is empty, a named
// variable that is unset or empty, a session attribute out of its range. No text ever holds the
// password.
credentials credentials_from_config(const caf::actor_system_config& cfg);

// The password kept in the file `path` (one trailing newline, LF or CRLF, stripped), for
// credentials_from_config. `named_by` (the option or variable that named the file) goes into
// the error, which names the file and never its content.
std::string read_password_file(const std::string& path, const std::string& named_by);

// The password kept in the environment variable `name`; unset or empty is an error naming it
// and `named_by`.
std::string read_password_variable(const std::string& name, const std::string& named_by);

} // namespace exapool
