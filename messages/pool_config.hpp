// How a pool behaves. Defaults follow the best peers (HikariCP, pgbouncer) and Exasol's advice
// for small pools; the seed's size variables set max_size and the prewarm count.
#pragma once

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace exapool {

struct pool_config {
  // The pool's name in its stats and in error texts (exapool.pool-name). Empty: the pool's
  // label, user@host:port[/schema] (pool_label: no password, token or fingerprint). A runtime
  // with a name set gives it to every pool it runs (one per credentials); their labels tell
  // them apart. Printable ASCII, 1 to max_pool_name_length characters (check_pool_name).
  std::string name;
  // Bounds idle + leased + opening connections at every moment.
  std::size_t max_size = 5;
  // Connections kept open even when idle (topped up in the background).
  std::size_t min_idle = 0;
  // How long a borrower waits in the FIFO queue before it gets an acquire-timeout error.
  caf::timespan acquire_timeout = std::chrono::seconds(30);
  // A connection used more recently than this is handed out without a SELECT 1.
  caf::timespan validation_bypass = std::chrono::milliseconds(500);
  caf::timespan validation_timeout = std::chrono::seconds(5);
  // How long a reset (ROLLBACK, attributes back to the baseline) may take; a ROLLBACK after a
  // long transaction is slow. At the deadline the connection is killed: its slot is freed only
  // once the connection is down, so max_size still bounds the server's sessions.
  caf::timespan reset_timeout = std::chrono::seconds(30);
  // How long a connection may take to close properly before it is killed.
  caf::timespan close_timeout = std::chrono::seconds(10);
  // How long an aborted statement may take to end (its borrower gave up or died, or the pool
  // drains) before its connection is killed; the session's statement guard adds it too.
  caf::timespan abort_grace = std::chrono::seconds(2);
  // At most this many borrows and statements wait; more are refused at once
  // (pool_errc::too_many_waiters). Always bounded: 0 counts as 1.
  std::size_t max_waiters = 10000;
  // An idle connection above min_idle is closed after this long (0: never).
  caf::timespan idle_timeout = std::chrono::minutes(10);
  // Every connection is replaced after this long, minus up to lifetime_jitter (0: never),
  // so connections opened together do not all expire together.
  caf::timespan max_lifetime = std::chrono::minutes(30);
  caf::timespan lifetime_jitter = std::chrono::seconds(30);
  // An idle connection is validated this often so dead ones are found before a borrower does.
  caf::timespan keepalive_interval = std::chrono::minutes(2);
  // Failed connects retry after initial, doubling up to max.
  caf::timespan backoff_initial = std::chrono::milliseconds(10);
  caf::timespan backoff_max = std::chrono::seconds(5);
  // At shutdown, leased connections are closed when returned or after this grace period (see
  // shutdown_bound in pool_actor.hpp for the whole shutdown's bound).
  caf::timespan shutdown_grace = std::chrono::seconds(5);
  // A lease held longer than this is logged once (warn), naming its borrower: a leak, or a
  // transaction that runs too long. 0: never.
  caf::timespan leak_detection_threshold{0};
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, pool_config& x) {
  return f(caf::meta::type_name("pool_config"), x.max_size, x.min_idle, x.acquire_timeout,
           x.validation_bypass, x.validation_timeout, x.idle_timeout, x.max_lifetime,
           x.lifetime_jitter, x.keepalive_interval, x.backoff_initial, x.backoff_max,
           x.shutdown_grace, x.reset_timeout, x.close_timeout, x.abort_grace, x.max_waiters,
           x.leak_detection_threshold, x.name);
}

// The longest pool name accepted.
constexpr std::size_t max_pool_name_length = 128;

// No error when `name` may name a pool: 1 to max_pool_name_length printable ASCII characters
// (letters, digits, punctuation, inner spaces), no leading or trailing space. Else
// invalid_config with a text naming `option` (how the user set it) and what is wrong.
caf::error check_pool_name(const std::string& name, const std::string& option);

// The seed's default pool size.
constexpr std::size_t default_pool_size = 5;
// A size above this is refused as a typo rather than opening thousands of sessions (Exasol's
// advice is a few dozen concurrent sessions per database).
constexpr std::size_t max_pool_size = 1000;

// Parses a pool size as the environment gives it: a whole number from 1 to max_pool_size.
// The error text names the variable and the bad value.
caf::expected<std::size_t> parse_pool_size(const std::string& variable, const std::string& text);

// The pool size from EXAPOOL_POOL_SIZE, else the seed's DBT_CONN_POOL_SIZE, else 5. An unset or
// empty variable is skipped; a set but invalid one is an error (never silently the default).
caf::expected<std::size_t> pool_size_from_environment();

} // namespace exapool
