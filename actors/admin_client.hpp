// The client side of the admin endpoint (actors/admin_actor.hpp): what `exapool stats` and the
// tests use to read a running runtime's pool stats from another actor system.
#pragma once

#include "messages/pool_stats.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exapool {

// Connects to the admin endpoint at host:port through the io middleman of `sys` (which must be
// loaded) and returns its answer: every pool's stats as stats_to_json text, checked to read
// back. Each step waits at most `timeout`. Throws runtime_error (connect_failed) naming
// host:port and what went wrong: nothing listens there, it is not an exapool admin endpoint,
// no answer in time, or an answer that is not pool stats.
std::string fetch_stats_json(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                             caf::timespan timeout);

// The same, read into pool_stats.
std::vector<pool_stats> fetch_stats(caf::actor_system& sys, const std::string& host,
                                    std::uint16_t port, caf::timespan timeout);

} // namespace exapool
