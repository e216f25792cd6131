// What the metrics endpoint answers (integration/http/metrics_server.hpp serves it, actors/
// metrics_endpoint.hpp gathers the stats): pure functions of the pools' stats, no I/O.
//
// /metrics is Prometheus text format 0.0.4. Every sample carries pool="<pool_stats::name>" (by
// default the label: user@hosts[/schema]; never a secret); with a configured pool-name also
// label="<pool_stats::label>", and while two pools share both, id="<first 16 hex digits of the
// pool key>", so that every pool's series are its own. Values are escaped as the format
// requires (\ " and newline):
//   gauges    exapool_pool_connections (total), _leased, _idle, _opening, _waiting, _max_size
//   counters  exapool_pool_{opened,closed,borrowed,returned,validated,invalid,evicted,
//             reclaimed,timed_out_borrows}_total, and
//             exapool_pool_connect_failures_total{cause="auth|untrusted|session_limit|other"}
//   histogram exapool_pool_acquire_wait_seconds (_bucket{le=...} at wait_bucket_bounds_us,
//             cumulative, then le="+Inf"; _sum; _count): time from borrow to lease
//
// /health: a pool is unhealthy when
//   - the server refused its credentials, or the TLS rules do not trust the server, and no
//     login succeeded since (pool_stats::refused is set); or
//   - someone waits for a connection, the pool has no live connection (every one it has is
//     still opening, or it has none), and its last connect failed
//     (consecutive_connect_failures > 0).
// Healthy when no pool is unhealthy (also with no pool at all: nothing is broken yet).
#pragma once

#include "messages/pool_stats.hpp"

#include <string>
#include <vector>

namespace exapool {

// The text of /metrics for these pools (Content-Type: text/plain; version=0.0.4).
std::string render_prometheus(const std::vector<pool_stats>& pools);

// A label value escaped for the Prometheus text format: \ as \\, " as \", newline as \n.
std::string escape_label_value(const std::string& value);

struct health_verdict {
  bool ok = true;
  // "ok\n", or one line per unhealthy pool: "<name>: <reason>", "<name> (<label>): <reason>"
  // with a configured name. Never a secret.
  std::string text = "ok\n";
};

health_verdict judge_health(const std::vector<pool_stats>& pools);

} // namespace exapool
