// The supervisor: one pool actor per pool key, created on first use. It pre-warms pools,
// reports their stats, restarts a pool that crashed (it monitors its pools, never links to
// them, so a kill cannot spread to it) and drains every pool at shutdown.
//
// Bounds (supervisor_limits):
// - At most max_pools pools (draining ones included). A new key beyond it is refused with
//   too_many_pools naming the limit; nothing running is evicted to make room (a busy pool is
//   never cut off for a newcomer). What frees room is idle eviction.
// - A pool unused for pool_idle_timeout (no lease, no waiter, nothing opening, no borrow or
//   statement, no lookup or prewarm through the supervisor) is drained like at shutdown and
//   forgotten: its server sessions close, it leaves the stats, and the next borrow for its key
//   makes a fresh pool (lookups for the key wait until the old pool confirmed it is closed, so
//   one key never has two pools). This is what bounds pools of expired OpenID tokens.
// - A pool that crashes is restarted at most max_restarts times per restart_period (like
//   Erlang/OTP's supervisor intensity). Beyond that its key fails with pool_failed, naming the
//   limit, for restart_cooldown; the next lookup after that starts a fresh pool.
// - A pool is replaced only on evidence that it is dead: its down message. A caller's report
//   (pool_atom, creds, gone) waits for that message (at most verdict_window); a live pool is
//   answered as it is, never killed on a report.
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

namespace exasol {
class io_threads;
}

namespace exapool {

using supervisor_actor = caf::typed_actor<
    // The pool for these credentials (created on first use); shutting_down once draining.
    caf::replies_to<pool_atom, credentials>::with<pool_actor>,
    // The same, from a caller that found `gone` dead (a request bounced, or it answered
    // pool_failed): when `gone` is still this key's pool, the supervisor makes sure it is
    // gone (kill) and starts a fresh pool at once, without waiting for the down message.
    caf::replies_to<pool_atom, credentials, pool_actor>::with<pool_actor>,
    // Opens n connections for these credentials (within the pool's max_size) and reports how
    // many opened and why the others failed (prewarm_report::cause: the kind, when none
    // opened). One attempt each: initialization_fail_timeout's retries and error are the
    // runtime's (runtime::prewarm).
    caf::replies_to<prewarm_atom, credentials, std::size_t>::with<prewarm_report>,
    // The same with n from pool_size_from_environment(): EXAPOOL_POOL_SIZE, else
    // DBT_CONN_POOL_SIZE, else 5; an invalid value is an invalid_config error naming it.
    caf::replies_to<prewarm_atom, credentials>::with<prewarm_report>,
    // One pool's stats (an error when no pool has this key), or every pool's.
    caf::replies_to<stats_atom, pool_key>::with<pool_stats>,
    // The same by credentials: the key is made here, since pool keys differ between processes
    // (messages/pool_key.hpp), and a service node (actors/remote.hpp) asks for its pool so.
    caf::replies_to<stats_atom, credentials>::with<pool_stats>,
    caf::replies_to<stats_atom>::with<std::vector<pool_stats>>,
    // Drains every pool: new borrows are refused with shutting_down, waiters failed, leased
    // connections closed when returned or after the pool's shutdown_grace. Replies the final
    // stats of every pool once all of them stopped. Idempotent.
    caf::replies_to<shutdown_atom>::with<std::vector<pool_stats>>,
    // How many pools were restarted after a crash.
    caf::replies_to<stats_atom, pool_atom>::with<std::size_t>,
    // Looks for idle pools now (the supervisor does so on its own every idle_check_interval):
    // each pool is asked for its stats, and one found unused for pool_idle_timeout is evicted.
    // Answers, once every pool answered, how many it evicted.
    caf::replies_to<tick_atom>::with<std::size_t>,
    // These credentials were refused upstream (authentication_failed): their pool is evicted
    // when it never opened a connection and nobody waits, so credentials that never worked
    // leave no pool behind (one that worked before keeps its connections: the password may
    // have changed upstream while clients still use them). Answers true when it evicted one.
    caf::replies_to<forget_atom, credentials>::with<bool>>;

// Makes the backend of one connection for given credentials (make_exasol_backend in
// production, a fake in unit tests).
using credentials_backend_factory =
    std::function<std::unique_ptr<connection_backend>(const credentials&)>;

// What bounds the pools of one supervisor (see the top of this file).
struct supervisor_limits {
  std::size_t max_pools = 100;
  caf::timespan pool_idle_timeout = std::chrono::minutes(10); // 0: never evict
  std::size_t max_restarts = 5;                               // 0: never restart a crash
  caf::timespan restart_period = std::chrono::seconds(60);
  caf::timespan restart_cooldown = std::chrono::seconds(30);
};

// The clock the supervisor decides idleness and restart intensity with (tests inject one).
using supervisor_clock = std::function<std::chrono::steady_clock::time_point()>;

struct supervisor_config {
  pool_config pool;
  credentials_backend_factory make_backend; // empty: make_exasol_backend
  // Where the default factory's connections run their I/O: make_exasol_backend(creds, *io).
  // Null: the process's shared I/O thread (exasol::shared_io_threads()), as tests spawn it.
  // Must outlive every connection the supervisor's pools open (the runtime sees to that).
  exasol::io_threads* io = nullptr;
  // Hang guard on the supervisor's own requests to its pools, beyond their own timeouts.
  caf::timespan request_slack = std::chrono::seconds(10);
  supervisor_limits limits;
  supervisor_clock now; // empty: std::chrono::steady_clock::now
  logger_ptr log;       // where pools log their events; null: nowhere
};

// How often the supervisor looks for idle pools by itself: a quarter of pool_idle_timeout,
// between 10 ms and 1 minute (none when pool_idle_timeout is 0).
caf::timespan idle_check_interval(const supervisor_limits& limits);

// The longest the supervisor waits for its pools at shutdown (and for an evicted pool):
// the pool's own shutdown_bound (its grace, the aborts' grace, closing and killing), plus
// the slack. Shutdown reports success only when every pool confirmed, within this, that all its
// connections are closed; otherwise it fails (pool_failed) naming the pools that did not.
caf::timespan shutdown_deadline(const pool_config& pool, caf::timespan slack);

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_config config);

} // namespace exapool
