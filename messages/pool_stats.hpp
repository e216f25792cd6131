// A snapshot of one pool: its gauges now, its counters since start, and borrow wait times.
#pragma once

#include "messages/pool_key.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exapool {

struct pool_stats {
  pool_key key;
  // Who the pool serves, for people: user@dsn[/schema] (see pool_label); never a secret.
  std::string label;
  // The pool's name (pool_config::name, exapool.pool-name); its label when none is set.
  std::string name;
  // Gauges. total = idle + leased + opening <= max_size, always.
  std::uint64_t total = 0, leased = 0, idle = 0, opening = 0, waiting = 0;
  std::uint64_t max_size = 0;
  // Clients of exapool proxy that use this pool now (0 for an embedded runtime): with leased
  // (clients holding a connection) and waiting, what pgbouncer's SHOW POOLS shows.
  std::uint64_t clients = 0;
  // Counters.
  std::uint64_t borrowed = 0, returned = 0;
  std::uint64_t opened = 0, closed = 0, connect_failures = 0;
  std::uint64_t validated = 0, invalid = 0; // SELECT 1 checks and how many failed
  std::uint64_t evicted = 0;                // idle timeout, max lifetime
  std::uint64_t reclaimed = 0;              // taken back from borrowers that died
  std::uint64_t resets = 0;                 // dirty sessions reset on return
  std::uint64_t timed_out_borrows = 0;
  // Borrow wait times (time from borrow to lease) over all borrows so far.
  caf::timespan wait_p50{0}, wait_p99{0}, wait_max{0};
  std::string last_connect_error; // never contains a secret
  // Connect failures by cause (they add up to connect_failures): refused credentials, a
  // server the TLS rules do not trust, the server's session limit, anything else.
  std::uint64_t connect_failures_auth = 0, connect_failures_untrusted = 0;
  std::uint64_t connect_failures_session_limit = 0, connect_failures_other = 0;
  // Borrow waits as a histogram: wait_buckets[i] borrows waited at most
  // wait_bucket_bounds_us[i] (messages/wait_buckets.hpp; cumulative), wait_count in all,
  // wait_sum together.
  std::vector<std::uint64_t> wait_buckets;
  std::uint64_t wait_count = 0;
  caf::timespan wait_sum{0};
  // For /health: why borrows are refused now ("authentication_failed", "untrusted_server";
  // empty when they are not) and how many connects failed in a row (0 after a success).
  std::string refused;
  std::uint64_t consecutive_connect_failures = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("pool_stats"), x.key, x.label, x.total, x.leased, x.idle, x.opening,
           x.waiting, x.max_size, x.clients, x.borrowed, x.returned, x.opened, x.closed,
           x.connect_failures, x.validated, x.invalid, x.evicted, x.reclaimed, x.resets,
           x.timed_out_borrows, x.wait_p50, x.wait_p99, x.wait_max, x.last_connect_error, x.name,
           x.connect_failures_auth, x.connect_failures_untrusted, x.connect_failures_session_limit,
           x.connect_failures_other, x.wait_buckets, x.wait_count, x.wait_sum, x.refused,
           x.consecutive_connect_failures);
}

} // namespace exapool
