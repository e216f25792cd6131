// The supervisor: one pool actor per pool key, created on first use. It pre-warms pools,
// reports their stats, restarts a pool that crashed (it monitors its pools, never links to
// them, so a kill cannot spread to it) and drains every pool at shutdown.
#pragma once

#include "actors/pool_actor.hpp"
#include "messages/credentials.hpp"
#include "messages/pool_config.hpp"
#include "messages/pool_key.hpp"
#include "messages/pool_stats.hpp"
#include "messages/query.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace exapool {

using supervisor_actor = caf::typed_actor<
    // The pool for these credentials (created on first use); shutting_down once draining.
    caf::replies_to<pool_atom, credentials>::with<pool_actor>,
    // The same, from a caller that found `gone` dead (a request bounced, or it answered
    // pool_failed): when `gone` is still this key's pool, the supervisor makes sure it is
    // gone (kill) and starts a fresh pool at once, without waiting for the down message.
    caf::replies_to<pool_atom, credentials, pool_actor>::with<pool_actor>,
    // Opens n connections for these credentials (within the pool's max_size) and reports how
    // many opened and why the others failed.
    caf::replies_to<prewarm_atom, credentials, std::size_t>::with<prewarm_report>,
    // The same with n from pool_size_from_environment(): EXAPOOL_POOL_SIZE, else
    // DBT_CONN_POOL_SIZE, else 5; an invalid value is an invalid_config error naming it.
    caf::replies_to<prewarm_atom, credentials>::with<prewarm_report>,
    // One pool's stats (an error when no pool has this key), or every pool's.
    caf::replies_to<stats_atom, pool_key>::with<pool_stats>,
    caf::replies_to<stats_atom>::with<std::vector<pool_stats>>,
    // Drains every pool: new borrows are refused with shutting_down, waiters failed, leased
    // connections closed when returned or after the pool's shutdown_grace. Replies the final
    // stats of every pool once all of them stopped. Idempotent.
    caf::replies_to<shutdown_atom>::with<std::vector<pool_stats>>,
    // How many pools were restarted after a crash.
    caf::replies_to<stats_atom, pool_atom>::with<std::size_t>>;

// Makes the backend of one connection for given credentials (make_exasol_backend in
// production, a fake in unit tests).
using credentials_backend_factory =
    std::function<std::unique_ptr<connection_backend>(const credentials&)>;

struct supervisor_config {
  pool_config pool;
  credentials_backend_factory make_backend; // empty: make_exasol_backend
  // Hang guard on the supervisor's own requests to its pools, beyond their own timeouts.
  caf::timespan request_slack = std::chrono::seconds(10);
};

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_config config);

} // namespace exapool
