// The front of a supervisor that other processes share (actors/remote.hpp). It answers the
// supervisor's interface by delegating each request to the supervisor behind it (which then
// answers the original sender itself), with two exceptions that keep one process from ending
// what others share:
// - shutdown is refused (pool_errc::invalid_config): a pool node's pools are drained by the
//   process that owns them, never by a service node that borrows through it;
// - exit messages from actors of other nodes are ignored (the front traps them), so a remote
//   send_exit ends nothing here. An actor of the front's own node stops it.
// Two roles, one actor:
// - on a pool node it is what the runtime publishes (spawn_pool_node_front); it ends with the
//   supervisor behind it;
// - on a service node the runtime's sessions use it as their supervisor
//   (spawn_service_node_front): they end with it, and nothing there ever holds the remote
//   supervisor's handle to send it an exit. When the pool node goes away, the front stays:
//   the sessions' requests to the old node's pools fail, they ask the front for their pool
//   again, and the front connects again (a request waits for that connect, at most
//   `timeout`, and fails with connect_failed naming the node while it is unreachable).
#pragma once

#include "actors/supervisor_actor.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <string>

namespace exapool {

supervisor_actor spawn_pool_node_front(caf::actor_system& sys, supervisor_actor fronted);

// Where a service node finds its pool node.
struct pool_node_address {
  std::string host;
  std::uint16_t port = 0;
  caf::timespan timeout; // the longest connect
};

// `connected`: the pool node's supervisor when the caller connected already (connect_pool_node
// at start, so that a wrong address fails the runtime's constructor); null: on first use.
supervisor_actor spawn_service_node_front(caf::actor_system& sys, pool_node_address node,
                                          supervisor_actor connected);

} // namespace exapool
